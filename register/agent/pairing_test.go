package agent

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/register/pairing"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/tlsid"
)

type pairEnv struct {
	t     *testing.T
	r     *running
	admin string
	// insecure is what an unpaired screen uses for its first contact: it
	// records the certificate it saw and pins it once paired.
	insecure *http.Client
	seenFP   string
}

func startTLS(t *testing.T) *pairEnv {
	cfg := testConfig(t)
	cfg.Display.TLS = true
	cfg.Registers = []string{"1"}
	r := start(t, cfg)
	tok, err := os.ReadFile(filepath.Join(cfg.State.Dir, pairing.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	e := &pairEnv{t: t, r: r, admin: strings.TrimSpace(string(tok))}
	e.insecure = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			e.seenFP = tlsid.Fingerprint(cs.PeerCertificates[0])
			return nil
		},
	}}}
	t.Cleanup(e.insecure.CloseIdleConnections)
	return e
}

func (e *pairEnv) call(c *http.Client, method, url, bearer, origin string, in, out any) int {
	e.t.Helper()
	var body bytes.Buffer
	if in != nil {
		_ = json.NewEncoder(&body).Encode(in)
	}
	req, _ := http.NewRequest(method, url, &body)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func (e *pairEnv) displayBase() string { return "https://" + e.r.DisplayAddr().String() }
func (e *pairEnv) adminBase() string   { return "http://" + e.r.POSAddr().String() }

func (e *pairEnv) open(name string) pairing.OpenResponse {
	var o pairing.OpenResponse
	if st := e.call(e.insecure, "POST", e.displayBase()+"/v1/pair", "", "", pairing.OpenRequest{Name: name}, &o); st != http.StatusCreated {
		e.t.Fatalf("open pairing: status %d", st)
	}
	return o
}

func (e *pairEnv) approve(code string) (int, pairing.ErrorResponse) {
	var er pairing.ErrorResponse
	st := e.call(http.DefaultClient, "POST", e.adminBase()+"/v1/admin/pair", e.admin, "", pairing.ApproveRequest{Code: code}, &er)
	return st, er
}

func (e *pairEnv) poll(o pairing.OpenResponse) pairing.PollResponse {
	var p pairing.PollResponse
	if st := e.call(e.insecure, "GET", e.displayBase()+"/v1/pair/"+o.Request, o.Secret, "", nil, &p); st != http.StatusOK {
		e.t.Fatalf("poll: status %d", st)
	}
	return p
}

// dialPinned connects like a paired screen: TLS pinned to fp, token in hello.
func dialPinned(t *testing.T, addr, fp, token string) (*websocket.Conn, error) {
	cfg, err := tlsid.PinnedClientConfig(fp)
	if err != nil {
		t.Fatal(err)
	}
	d := websocket.Dialer{TLSClientConfig: cfg, HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial("wss://"+addr+"/v1/display", nil)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { ws.Close() })
	writeJSON(t, ws, protocol.Hello{Type: protocol.TypeHello, Register: "1", Token: token})
	return ws, nil
}

func TestPairingEndToEnd(t *testing.T) {
	e := startTLS(t)
	o := e.open("Lane 1 customer screen")
	if o.Fingerprint != e.seenFP || o.Fingerprint != e.r.Fingerprint() || len(o.Code) != 9 {
		t.Fatalf("open: got %+v (saw fp %s)", o, e.seenFP)
	}
	if p := e.poll(o); p.Status != "pending" || p.Token != "" {
		t.Fatalf("poll before approval: got %+v", p)
	}
	// Store IT types the code, in lower case with the dash left out.
	if st, er := e.approve(strings.ToLower(strings.ReplaceAll(o.Code, "-", ""))); st != http.StatusOK {
		t.Fatalf("approve: %d %+v", st, er)
	}
	p := e.poll(o)
	if p.Status != "approved" || p.Token == "" || p.Register != "1" || p.Fingerprint != e.seenFP {
		t.Fatalf("poll after approval: got %+v", p)
	}
	var gone pairing.ErrorResponse
	if st := e.call(e.insecure, "GET", e.displayBase()+"/v1/pair/"+o.Request, o.Secret, "", nil, &gone); st != http.StatusNotFound {
		t.Fatalf("second poll: got %d, want 404 (the token is handed out once)", st)
	}

	ws, err := dialPinned(t, e.r.DisplayAddr().String(), p.Fingerprint, p.Token)
	if err != nil {
		t.Fatalf("paired screen: %v", err)
	}
	var w protocol.Welcome
	readJSON(t, ws, &w)
	if m := readServer(t, ws); m.Snapshot == nil {
		t.Fatalf("paired screen: got %+v, want snapshot", m)
	}

	// The listing shows it; revoking it disconnects it at once.
	var ds []pairing.Display
	e.call(http.DefaultClient, "GET", e.adminBase()+"/v1/admin/displays", e.admin, "", nil, &ds)
	if len(ds) != 1 || ds[0].ID != p.Display || ds[0].Name != "Lane 1 customer screen" || strings.Contains(fmt.Sprint(ds), p.Token) {
		t.Fatalf("displays: got %+v", ds)
	}
	if st := e.call(http.DefaultClient, "DELETE", e.adminBase()+"/v1/admin/displays/"+p.Display, e.admin, "", nil, nil); st != http.StatusOK {
		t.Fatalf("revoke: %d", st)
	}
	var bye protocol.Error
	readJSON(t, ws, &bye)
	if bye.Type != protocol.TypeError || bye.Code != protocol.CodeUnauthorized {
		t.Fatalf("after revoke: got %+v, want an unauthorized error", bye)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := ws.ReadMessage(); !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
		t.Fatalf("after revoke: got %v, want close 1008", err)
	}
	ws2, err := dialPinned(t, e.r.DisplayAddr().String(), p.Fingerprint, p.Token)
	if err != nil {
		t.Fatal(err)
	}
	var er protocol.Error
	readJSON(t, ws2, &er)
	if er.Code != protocol.CodeUnauthorized {
		t.Fatalf("revoked token: got %+v, want unauthorized", er)
	}
}

func TestRogueAgentIsUntrusted(t *testing.T) {
	e := startTLS(t)
	// Another agent, same register id and agent id, but its own certificate.
	rogue := startTLS(t)
	tok := provision(t, e)
	if _, err := dialPinned(t, rogue.r.DisplayAddr().String(), e.r.Fingerprint(), tok); !errors.Is(err, tlsid.ErrUntrusted) {
		t.Fatalf("rogue agent: got %v, want ErrUntrusted", err)
	}
	ws, err := dialPinned(t, e.r.DisplayAddr().String(), e.r.Fingerprint(), tok)
	if err != nil {
		t.Fatalf("real agent: %v", err)
	}
	var w protocol.Welcome
	readJSON(t, ws, &w)
	if w.Type != protocol.TypeWelcome {
		t.Fatalf("real agent: got %+v", w)
	}
}

// provision adds a display headlessly and returns its token.
func provision(t *testing.T, e *pairEnv) string {
	var r pairing.AddResponse
	if st := e.call(http.DefaultClient, "POST", e.adminBase()+"/v1/admin/displays", e.admin, "", pairing.AddRequest{Name: "Tablet", Register: "1"}, &r); st != http.StatusCreated || r.Token == "" {
		t.Fatalf("provision: %d %+v", st, r)
	}
	return r.Token
}

func TestPairingLockoutAndAdminAccess(t *testing.T) {
	e := startTLS(t)
	o := e.open("Screen")
	for i := 1; i < pairing.MaxFailures; i++ {
		if st, er := e.approve("0000-0000"); st != http.StatusNotFound || er.Code != "bad_code" {
			t.Fatalf("wrong code %d: got %d %+v, want 404 bad_code", i, st, er)
		}
	}
	if st, er := e.approve("0000-0000"); st != http.StatusTooManyRequests || er.Code != "locked_out" {
		t.Fatalf("wrong code %d: got %d %+v, want 429 locked_out", pairing.MaxFailures, st, er)
	}
	// While locked out, even the right code is refused.
	if st, er := e.approve(o.Code); st != http.StatusTooManyRequests {
		t.Fatalf("right code during lockout: got %d %+v, want 429", st, er)
	}
	if p := e.poll(o); p.Status != "pending" {
		t.Fatalf("request during lockout: got %+v", p)
	}
	for _, tc := range []struct {
		name, token, origin string
		want                int
	}{
		{"no token", "", "", http.StatusUnauthorized},
		{"wrong token", "nope", "", http.StatusUnauthorized},
		{"from a web page", e.admin, "http://evil.test", http.StatusForbidden},
	} {
		if st := e.call(http.DefaultClient, "GET", e.adminBase()+"/v1/admin/displays", tc.token, tc.origin, nil, nil); st != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, st, tc.want)
		}
	}
	// The admin endpoint is not on the network-facing display listener.
	if st := e.call(e.insecure, "GET", e.displayBase()+"/v1/admin/displays", e.admin, "", nil, nil); st != http.StatusNotFound {
		t.Errorf("admin on the display listener: got %d, want 404", st)
	}
	// Flooding with requests from one address is refused.
	for i := 1; i < pairing.MaxPendingPerIP; i++ {
		e.open(fmt.Sprint("more ", i))
	}
	if st := e.call(e.insecure, "POST", e.displayBase()+"/v1/pair", "", "", pairing.OpenRequest{Name: "flood"}, nil); st != http.StatusTooManyRequests {
		t.Errorf("request flood: got %d, want 429", st)
	}
}
