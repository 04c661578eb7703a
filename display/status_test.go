package display

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"github.com/posdisplay/posdisplay/display/client"
)

// visibleTexts lists the text drawn on w's canvas.
func visibleTexts(w fyne.Window) []*canvas.Text {
	var out []*canvas.Text
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if !o.Visible() {
			return
		}
		switch o := o.(type) {
		case *canvas.Text:
			if strings.TrimSpace(o.Text) != "" {
				out = append(out, o)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(o).Objects() {
				walk(c)
			}
		case *fyne.Container:
			for _, c := range o.Objects {
				walk(c)
			}
		}
	}
	walk(w.Canvas().Content())
	return out
}

// Store IT reads the pairing code from across the counter: it is the
// biggest text on the pairing screen, the instruction names the exact
// command, and the remaining time counts down.
func TestPairingCodeIsTheBiggestText(t *testing.T) {
	for _, size := range goldenSizes {
		d, w, clock := newTestDisplay(t, size, testConfig())
		d.Show(client.View{Status: client.StatusPairing, Since: t0, Codes: []client.PairingCode{
			{Register: "Till 1", Code: "3DW2-F7RD", Expires: t0.Add(10 * time.Minute)},
		}})
		texts := visibleTexts(w)
		var biggest *canvas.Text
		all := ""
		for _, tx := range texts {
			all += tx.Text + "\n"
			if biggest == nil || tx.TextSize > biggest.TextSize {
				biggest = tx
			}
		}
		if biggest == nil || biggest.Text != "3DW2-F7RD" {
			t.Fatalf("%v: biggest text %+v, want the code 3DW2-F7RD; shown:\n%s", size, biggest, all)
		}
		// Wrapped lines read as one: the command may span two lines.
		flat := strings.Join(strings.Fields(all), " ")
		for _, want := range []string{"posdisplay-agent pair 3DW2-F7RD", "Till 1", "10 more min"} {
			if !strings.Contains(flat, want) {
				t.Errorf("%v: shown:\n%s\nwant it to contain %q", size, all, want)
			}
		}
		clock.Advance(5*time.Minute + 30*time.Second)
		d.Tick()
		if all := texts2(w); !strings.Contains(all, "5 more min") {
			t.Errorf("%v: after 5.5 min shown:\n%s\nwant 5 more min", size, all)
		}
	}
}

func texts2(w fyne.Window) string {
	s := ""
	for _, tx := range visibleTexts(w) {
		s += tx.Text + "\n"
	}
	return s
}
