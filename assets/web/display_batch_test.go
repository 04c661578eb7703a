package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/assets/web"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// TestWebDisplayAppliesBatch: the web display applies a batch (protocol
// revision 1.2) delta by delta and draws the result; a batch with a gap
// makes it ask for a resync, keeping what applied before the gap. A
// stand-in agent sends the golden snapshot and the golden batch, so the page
// is checked against the wire format itself.
func TestWebDisplayAppliesBatch(t *testing.T) {
	golden := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "register", "protocol", "testdata", "golden", name))
		if err != nil {
			t.Fatal(err)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, b); err != nil {
			t.Fatal(err)
		}
		return c.Bytes()
	}
	snapshot, batch := golden("display_snapshot.json"), golden("display_batch.json")
	gap := []byte(`{"type":"batch","deltas":[{"type":"delta","epoch":"01JD3XK5Q8R2M7","seq":45,"ops":[]},{"type":"delta","epoch":"01JD3XK5Q8R2M7","seq":47,"ops":[]}]}`)

	resyncs := make(chan struct{}, 4)
	announced := make(chan string, 4) // the features each upgrade asked for
	up := websocket.Upgrader{Subprotocols: []string{protocol.DisplaySubprotocol}}
	mux := http.NewServeMux()
	mux.Handle("/display", web.DisplayHandler())
	mux.Handle("/display/", web.DisplayHandler())
	mux.HandleFunc("/v1/display", func(w http.ResponseWriter, r *http.Request) {
		select {
		case announced <- r.URL.Query().Get("features"):
		default:
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		if _, _, err := ws.ReadMessage(); err != nil { // the hello
			return
		}
		for _, m := range [][]byte{
			[]byte(`{"type":"welcome","protocol":1,"agent":"a","register":"lane-1","epoch":"01JD3XK5Q8R2M7","seq":44}`),
			snapshot, batch, gap,
		} {
			if err := ws.WriteMessage(websocket.TextMessage, m); err != nil {
				return
			}
		}
		// Heartbeats keep the page's silence watchdog (1.8 s) from
		// replacing the socket while the test looks at the page.
		done := make(chan struct{})
		defer close(done)
		go func() {
			tick := time.NewTicker(300 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					if ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"heartbeat"}`)) != nil {
						return
					}
				}
			}
		}()
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if m, err := protocol.DecodeDisplay(data); err == nil && m.Type == protocol.TypeResync {
				resyncs <- struct{}{}
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	tab := newBrowser(t)
	run(t, tab, chromedp.Navigate(fmt.Sprintf("%s/display#register=lane-1&token=%s", srv.URL, displayToken)))
	// The page announces batches, or a real agent would never send one.
	select {
	case got := <-announced:
		if got != "returns,batch" {
			t.Errorf("upgrade features: got %q, want returns,batch", got)
		}
	case <-time.After(waitLong):
		t.Fatal("the page never opened its socket")
	}
	select {
	case <-resyncs:
	case <-time.After(waitLong):
		t.Fatal("the batch with a gap did not make the display ask for a resync")
	}
	// The golden batch added a line and doubled another: 4 lines, total
	// $16.33; the gap's first delta (seq 45, no ops) applied too.
	waitJS(t, tab, `document.querySelectorAll("#lines .line").length === 4`)
	if got := evalJS[string](t, tab, `document.getElementById("total").textContent`); got != "$16.33" {
		t.Errorf("total: got %q, want $16.33", got)
	}
	if got := evalJS[string](t, tab, `document.body.dataset.snapshots`); got != "1" {
		t.Errorf("snapshots: got %s, want 1", got)
	}
}
