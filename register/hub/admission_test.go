package hub

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/posdisplay/posdisplay/register/protocol"
)

// pending is the number of sockets counted as waiting for their hello.
func (f *fixture) pending() int {
	f.hub.mu.Lock()
	defer f.hub.mu.Unlock()
	return f.hub.pendingAll
}

// dialUpgrade connects a display that presents token (if not empty) in the
// upgrade request, by subprotocol or query, for register "1".
func (f *fixture) dialUpgrade(token string, byQuery bool) (*websocket.Conn, *http.Response, error) {
	d := *websocket.DefaultDialer
	u := f.url + "?register=1"
	switch {
	case token == "":
	case byQuery:
		u += "&token=" + url.QueryEscape(token)
	default:
		d.Subprotocols = protocol.DisplaySubprotocols(token)
	}
	ws, resp, err := d.Dial(u, nil)
	if err == nil {
		f.t.Cleanup(func() { ws.Close() })
	}
	return ws, resp, err
}

// wantRefused dials a silent display (or one presenting the token in the
// upgrade, when dial is set) and checks it is refused before the upgrade.
func (f *fixture) wantRefused(dial func() (*websocket.Conn, *http.Response, error), status int, code string) {
	f.t.Helper()
	if dial == nil {
		dial = func() (*websocket.Conn, *http.Response, error) { return websocket.DefaultDialer.Dial(f.url, nil) }
	}
	ws, resp, err := dial()
	if err == nil {
		ws.Close()
		f.t.Fatalf("dial: upgraded, want HTTP %d %s before the upgrade", status, code)
	}
	if resp == nil {
		f.t.Fatalf("dial: %v, want HTTP %d", err, status)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var e protocol.Error
	_ = json.Unmarshal(body, &e)
	if resp.StatusCode != status || e.Code != code {
		f.t.Fatalf("refusal: got HTTP %d %s, want HTTP %d %s", resp.StatusCode, body, status, code)
	}
	if status == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
		f.t.Error("busy refusal without Retry-After")
	}
}

// TestTokenInUpgrade: a display may present its token in the upgrade
// request; a wrong one is refused before any WebSocket exists, a right one
// gets the display subprotocol and may leave the token out of its hello.
func TestTokenInUpgrade(t *testing.T) {
	f := newFixture(t, Options{})
	for _, byQuery := range []bool{false, true} {
		f.wantRefused(func() (*websocket.Conn, *http.Response, error) { return f.dialUpgrade("wrong", byQuery) },
			http.StatusUnauthorized, protocol.CodeUnauthorized)
		ws, resp, err := f.dialUpgrade("tok-a", byQuery)
		if err != nil {
			t.Fatalf("dial with the token in the upgrade (query %v): %v", byQuery, err)
		}
		if got := resp.Header.Get("Sec-WebSocket-Protocol"); !byQuery && got != protocol.DisplaySubprotocol {
			t.Errorf("selected subprotocol = %q, want %q (never the token)", got, protocol.DisplaySubprotocol)
		}
		hello, _ := json.Marshal(protocol.Hello{Type: protocol.TypeHello, Register: "1"})
		if err := ws.WriteMessage(websocket.TextMessage, hello); err != nil {
			t.Fatal(err)
		}
		if got := read(t, ws); got.Type != protocol.TypeWelcome {
			t.Fatalf("hello without a token after the upgrade: got %+v, want welcome", got)
		}
		if got := f.pending(); got != 0 {
			t.Errorf("pending = %d, want 0: a display with a token is never counted as silent", got)
		}
	}
	// Unknown register in the upgrade request.
	f.wantRefused(func() (*websocket.Conn, *http.Response, error) {
		d := *websocket.DefaultDialer
		d.Subprotocols = protocol.DisplaySubprotocols("tok-a")
		return d.Dial(f.url+"?register=9", nil)
	}, http.StatusNotFound, protocol.CodeUnknownRegister)
	// The hello must name the register of the upgrade request.
	ws, _, err := f.dialUpgrade("tok-a", false)
	if err != nil {
		t.Fatal(err)
	}
	hello, _ := json.Marshal(protocol.Hello{Type: protocol.TypeHello, Register: "2"})
	_ = ws.WriteMessage(websocket.TextMessage, hello)
	if got := read(t, ws); got.Type != protocol.TypeError || got.Code != protocol.CodeBadHello {
		t.Fatalf("hello for another register: got %+v, want bad_hello", got)
	}
}

// TestGlobalCapNeverRefusesAValidToken: with the global cap on silent
// sockets full, a silent (version 1) display is refused, but one presenting
// its token in the upgrade request connects.
func TestGlobalCapNeverRefusesAValidToken(t *testing.T) {
	f := newFixture(t, Options{})
	f.hub.maxPending = 4
	for range f.hub.maxPending {
		ws, _, err := websocket.DefaultDialer.Dial(f.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
	}
	f.wantRefused(nil, http.StatusServiceUnavailable, protocol.CodeBusy)
	ws, _, err := f.dialUpgrade("tok-a", false)
	if err != nil {
		t.Fatalf("display with a valid token while the silent cap is full: %v", err)
	}
	hello, _ := json.Marshal(protocol.Hello{Type: protocol.TypeHello, Register: "1", Token: "tok-a"})
	_ = ws.WriteMessage(websocket.TextMessage, hello)
	if got := read(t, ws); got.Type != protocol.TypeWelcome {
		t.Fatalf("got %+v, want welcome", got)
	}
}

// countingHandler counts log records with a given message.
type countingHandler struct {
	msg string
	n   *atomic.Int64
}

func (h countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.n.Add(1)
	}
	return nil
}
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countingHandler) WithGroup(string) slog.Handler      { return h }

// TestRefusalsAreSummarised: a flood of refusals is one log line (per
// interval) and a metric, not one WARN line per refusal.
func TestRefusalsAreSummarised(t *testing.T) {
	f := newFixture(t, Options{})
	var lines atomic.Int64
	f.hub.log = slog.New(countingHandler{msg: "display upgrade requests refused", n: &lines})
	f.hub.maxPending = 0
	const flood = 50
	for range flood {
		f.wantRefused(nil, http.StatusServiceUnavailable, protocol.CodeBusy)
	}
	if got := lines.Load(); got != 1 {
		t.Errorf("refusal log lines = %d for %d refusals, want 1", got, flood)
	}
	if got := testutil.ToFloat64(f.hub.refused.WithLabelValues("busy")); got != flood {
		t.Errorf("refused{busy} = %v, want %d", got, flood)
	}
}

func TestSourceKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:5000":              "192.0.2.7",
		"127.0.0.1:1":                 "127.0.0.1",
		"[2001:db8:1:2:3:4:5:6]:7422": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::9]:7422": "2001:db8:1:2::/64",
		"[::1]:7422":                  "::1",
		"not an address":              "not an address",
		"[2001:db8:1:3::1]:1":         "2001:db8:1:3::/64",
	} {
		if got := sourceKey(in); got != want {
			t.Errorf("sourceKey(%q) = %q, want %q", in, got, want)
		}
	}
}
