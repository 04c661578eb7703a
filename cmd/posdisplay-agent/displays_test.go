package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/display/enroll"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/tlsid"
)

// pairScreen does what a screen does (display/enroll, over TLS to the
// real agent) while store IT runs `pair CODE`; it returns the screen's
// credentials and what pair printed.
func pairScreen(t *testing.T, a *cliAgent, s enroll.Screen) (enroll.Credentials, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := enroll.Request(ctx, a.DisplayAddr().String(), s, "")
	if err != nil {
		t.Fatalf("pairing request: %v", err)
	}
	out, err := a.cli("pair", p.Code)
	if err != nil {
		t.Fatalf("pair %s: %v\n%s", p.Code, err, out)
	}
	c, err := p.Wait(ctx, 10*time.Millisecond)
	if err != nil {
		t.Fatalf("collecting the credentials: %v", err)
	}
	return c, out
}

// connect connects like a paired screen and returns once the hub holds the
// connection as live (the snapshot is written after that).
func connect(t *testing.T, a *cliAgent, c enroll.Credentials) *websocket.Conn {
	t.Helper()
	cfg, err := tlsid.PinnedClientConfig(c.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	d := websocket.Dialer{TLSClientConfig: cfg, HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial("wss://"+a.DisplayAddr().String()+"/v1/display", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	if err := ws.WriteJSON(protocol.Hello{Type: protocol.TypeHello, Register: c.Register, Token: c.Token}); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for _, want := range []string{protocol.TypeWelcome, protocol.TypeSnapshot} {
		var m struct{ Type string }
		if err := ws.ReadJSON(&m); err != nil || m.Type != want {
			t.Fatalf("display: got %q %v, want %s", m.Type, err, want)
		}
	}
	return ws
}

// row returns the `displays list` line of display id.
func row(t *testing.T, list, id string) string {
	t.Helper()
	for _, l := range strings.Split(list, "\n") {
		if strings.HasPrefix(l, id+" ") {
			return l
		}
	}
	t.Fatalf("displays list has no %s:\n%s", id, list)
	return ""
}

// TestDisplaysListAndReplace: the list tells displays apart (connected now
// or last seen, across an agent restart; address), the same screen paired
// again replaces its entry by its key, revoke says whether the display was
// offline, and forget removes only displays that are gone.
func TestDisplaysListAndReplace(t *testing.T) {
	dir := t.TempDir()
	a := startCLIAgent(t, dir)
	screen := enroll.Screen{Name: "vm", Key: "0123456789abcdef0123456789abcdef"}

	first, _ := pairScreen(t, a, screen)
	out, err := a.cli("displays", "list")
	if err != nil {
		t.Fatal(err)
	}
	if r := row(t, out, first.DisplayID); !strings.Contains(r, "never connected") || !strings.Contains(r, "127.0.0.1") {
		t.Errorf("paired, not yet connected: got %q, want never connected, address 127.0.0.1", r)
	}
	if !regexp.MustCompile(`(?m)^ID +NAME +REGISTER +STATUS +PAIRED +ADDRESS$`).MatchString(out) {
		t.Errorf("displays list header:\n%s", out)
	}
	ws := connect(t, a, first)
	out, _ = a.cli("displays", "list")
	if r := row(t, out, first.DisplayID); !strings.Contains(r, "connected since") {
		t.Errorf("connected display: got %q, want connected since", r)
	}
	if out, err := a.cli("displays", "forget", first.DisplayID); err == nil || !strings.Contains(err.Error(), "connected now") {
		t.Errorf("forget of a connected display: got %v\n%s, want a refusal", err, out)
	}

	// The agent restarts while the screen is away: the list still says
	// when it was last seen, and from where.
	ws.Close()
	a.stop()
	a = startCLIAgent(t, dir)
	out, _ = a.cli("displays", "list")
	t.Logf("displays list after a restart:\n%s", out)
	r := row(t, out, first.DisplayID)
	if !regexp.MustCompile(`offline, last seen \d{4}-\d\d-\d\d `).MatchString(r) || !strings.Contains(r, "127.0.0.1") {
		t.Errorf("after a restart: got %q, want offline, last seen DATE TIME, 127.0.0.1", r)
	}

	// The same screen (unpaired, or reinstalled) pairs again: one entry.
	second, out := pairScreen(t, a, screen)
	if !strings.Contains(out, "replaced "+first.DisplayID) {
		t.Errorf("pair again: got %q, want it to name the replaced %s", out, first.DisplayID)
	}
	out, _ = a.cli("displays", "list")
	if strings.Contains(out, first.DisplayID) || strings.Count(out, " vm ") != 1 {
		t.Errorf("after pairing the same screen again:\n%s\nwant only %s", out, second.DisplayID)
	}

	// A screen without a key (older version) still pairs; it replaces
	// nothing, and store IT forgets its old entry.
	old1, _ := pairScreen(t, a, enroll.Screen{Name: "old"})
	old2, out := pairScreen(t, a, enroll.Screen{Name: "old"})
	if strings.Contains(out, "replaced") {
		t.Errorf("a screen without a key replaced something: %s", out)
	}
	if out, err := a.cli("displays", "forget", old1.DisplayID); err != nil || !strings.Contains(out, "forgot "+old1.DisplayID) {
		t.Errorf("forget: %v\n%s", err, out)
	}
	out, _ = a.cli("displays", "list")
	if strings.Contains(out, old1.DisplayID) || !strings.Contains(out, old2.DisplayID) {
		t.Errorf("after forget:\n%s", out)
	}

	// Revoke says whether there was anyone to disconnect.
	if out, err := a.cli("displays", "revoke", old2.DisplayID); err != nil || !strings.Contains(out, "it was offline (never connected)") {
		t.Errorf("revoke of an offline display: %v\n%s", err, out)
	}
	ws = connect(t, a, second)
	if out, err := a.cli("displays", "revoke", second.DisplayID); err != nil || !strings.Contains(out, "it was connected") {
		t.Errorf("revoke of a connected display: %v\n%s", err, out)
	}
	var bye protocol.Error
	if err := ws.ReadJSON(&bye); err != nil || bye.Code != protocol.CodeUnauthorized {
		t.Errorf("revoked display: got %+v %v, want unauthorized", bye, err)
	}
}

// An agent still running from before the upgrade answers without
// "connected" and "last_seen" (register/pairing's list and revoke before
// them: the registry entry alone). The new CLI must not call its displays
// offline or never connected.
func TestDisplaysAgainstAnOlderAgent(t *testing.T) {
	const oldEntry = `{"id":"d-0a1b2c3d4e5f","name":"vm","register":"1","token_sha256":"00","paired_at":"2026-12-01T10:00:00Z","via":"code"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/v1/admin/displays":
			fmt.Fprint(w, "["+oldEntry+"]")
		case r.Method == http.MethodGet && r.URL.Path == "/v1/admin/pair":
			fmt.Fprint(w, "null")
		case r.Method == http.MethodDelete:
			fmt.Fprint(w, oldEntry)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "admin.token"), []byte(strings.Repeat("t", 43)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "agent.toml")
	conf := fmt.Sprintf("registers = [\"1\"]\n[pos]\nlisten = %q\n[state]\ndir = %q\n", strings.TrimPrefix(srv.URL, "http://"), dir)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	a := &cliAgent{cfgPath: cfg}
	out, err := a.cli("displays", "list")
	if err != nil || !strings.Contains(row(t, out, "d-0a1b2c3d4e5f"), "unknown (restart the agent") {
		t.Errorf("list from an older agent: %v\n%s", err, out)
	}
	out, err = a.cli("displays", "revoke", "d-0a1b2c3d4e5f")
	if err != nil || strings.Contains(out, "offline") || !strings.Contains(out, "a connection it had is closed now") {
		t.Errorf("revoke on an older agent: %v\n%s", err, out)
	}
}
