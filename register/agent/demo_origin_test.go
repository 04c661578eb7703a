package agent

import (
	"net"
	"net/http"
	"testing"

	"github.com/gorilla/websocket"
)

// TestDemoPageOriginOnChosenPort: with the demo page on and the POS listener
// at ":0" (make demo when 7421 is taken), the page's origin is the port the
// kernel chose, and its POS socket is accepted. The origin was once built
// from the configured "127.0.0.1:0", so every demo page socket was refused.
func TestDemoPageOriginOnChosenPort(t *testing.T) {
	cfg := testConfig(t)
	cfg.POS.AllowedOrigins = nil
	cfg.Demo.Page = true
	r := start(t, cfg)
	for _, origin := range []string{"http://" + r.POSAddr().String(), "http://localhost:" + portOf(t, r.POSAddr().String())} {
		ws, resp, err := websocket.DefaultDialer.Dial(r.posURL("1"), http.Header{"Origin": {origin}})
		if err != nil {
			t.Fatalf("Origin %s: dial POS: %v (status %v)", origin, err, resp.Status)
		}
		ws.Close()
	}
	_, resp, err := websocket.DefaultDialer.Dial(r.posURL("1"), http.Header{"Origin": {"http://127.0.0.1:1"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("Origin http://127.0.0.1:1: got err %v, resp %v; want 403", err, resp)
	}
}

func portOf(t *testing.T, hostport string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	return port
}
