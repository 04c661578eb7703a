package display

import (
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/posdisplay/posdisplay/register/testenv"
)

var screenshots = flag.String("screenshots", "", "write a PNG of every screen and state at every reference size into this directory")

// screenSizes are the reference screens: the small Raspberry Pi panel, the
// common 7-inch, full HD, and a portrait-mounted 7-inch.
var screenSizes = []fyne.Size{{Width: 800, Height: 480}, {Width: 1024, Height: 600}, {Width: 1920, Height: 1080}, {Width: 600, Height: 1024}}

// TestScreenshots renders every scene at every reference size into PNGs
// (`go test ./display -run TestScreenshots -screenshots=DIR`). Without the
// flag it is skipped.
func TestScreenshots(t *testing.T) {
	if *screenshots == "" {
		testenv.OptIn(t, "no -screenshots=DIR given (make screenshots)")
	}
	if err := os.MkdirAll(*screenshots, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, size := range screenSizes {
		for _, sc := range scenes() {
			cfg := testConfig()
			if sc.cfg != nil {
				sc.cfg(&cfg)
			}
			d, w, clock := newTestDisplay(t, size, cfg)
			d.Show(sc.view())
			if sc.after > 0 {
				clock.Advance(sc.after)
				d.Tick()
			}
			img := w.Canvas().Capture()
			name := filepath.Join(*screenshots, fmt.Sprintf("%s-%dx%d.png", sc.name, int(size.Width), int(size.Height)))
			f, err := os.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, img); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
