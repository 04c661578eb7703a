package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/configfile"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/storecert"
	"github.com/posdisplay/posdisplay/register/storecert/storecerttest"
)

func TestIngestToDisplay(t *testing.T) {
	r := start(t, testConfig(t))
	disp := dialDisplay(t, r, "1", nil)
	var rp replica
	rp.follow(t, disp, 0) // initial snapshot: empty idle cart
	if rp.cart.State != cart.StateIdle || len(rp.cart.Lines) != 0 || rp.pos.Epoch != r.Epoch() {
		t.Fatalf("initial snapshot: got %+v at %+v", rp.cart, rp.pos)
	}
	pos := dialPOS(t, r, "1")
	steps := []func(c *cart.Cart){
		func(c *cart.Cart) {},
		func(c *cart.Cart) { c.Lines[1].Quantity = 3000 },
		func(c *cart.Cart) { c.Lines = append(c.Lines[:0], c.Lines[1:]...) },
		func(c *cart.Cart) { c.Lines[0], c.Lines[2] = c.Lines[2], c.Lines[0] },
		func(c *cart.Cart) {
			c.Lines = append(c.Lines, cart.Line{ID: "new", Title: "Bananas", Quantity: 1250, Unit: "kg", UnitPrice: 199})
		},
		func(c *cart.Cart) { c.State = cart.StatePayment; c.Payment = &cart.Payment{Method: "cash"} },
	}
	c := basket("1", 4)
	for i, step := range steps {
		step(&c)
		Recompute(&c, 800)
		if c.Payment != nil {
			c.Payment.Tendered = c.Total + 500
			c.Payment.Change = 500
		}
		seq := sendCart(t, pos, fmt.Sprint("m", i), c)
		if seq != uint64(i+1) {
			t.Fatalf("step %d: ack seq got %d, want %d", i, seq, i+1)
		}
		rp.follow(t, disp, seq)
		if !cart.Equal(rp.cart, c) {
			t.Fatalf("step %d: display cart got %+v, want %+v", i, rp.cart, c)
		}
	}
	// Sending the same cart again changes nothing and does not bump seq.
	if seq := sendCart(t, pos, "same", c); seq != uint64(len(steps)) {
		t.Fatalf("unchanged cart: seq got %d, want %d", seq, len(steps))
	}
	writeJSON(t, pos, protocol.ClearMsg{Type: protocol.TypeClear, ID: protocol.ID("42")})
	ack, e := answer(t, pos)
	if e != nil || string(ack.ID) != "42" {
		t.Fatalf("clear: got %+v %+v, want ack 42", ack, e)
	}
	rp.follow(t, disp, ack.Seq)
	if rp.cart.State != cart.StateIdle || len(rp.cart.Lines) != 0 || rp.cart.Currency != "USD" {
		t.Fatalf("after clear: got %+v", rp.cart)
	}
}

func TestResume(t *testing.T) {
	cfg := testConfig(t)
	cfg.Display.History = 4
	r := start(t, cfg)
	pos := dialPOS(t, r, "1")
	c := basket("1", 1)
	sendCart(t, pos, "a", c)

	disp := dialDisplay(t, r, "1", nil)
	var rp replica
	rp.follow(t, disp, 1)
	disp.Close()

	// Three changes while away: within the history of 4.
	for i := 2; i <= 4; i++ {
		c = basket("1", i)
		sendCart(t, pos, fmt.Sprint(i), c)
	}
	disp = dialDisplay(t, r, "1", &rp.pos)
	if m := readServer(t, disp); m.Resumed == nil || m.Resumed.Seq != 1 {
		t.Fatalf("resume within history: got %+v, want resumed at 1", m)
	}
	rp.follow(t, disp, 4)
	if !cart.Equal(rp.cart, c) {
		t.Fatalf("after resume: got %+v, want %+v", rp.cart, c)
	}
	// Up to date: resumed with nothing to replay, then live.
	disp.Close()
	disp = dialDisplay(t, r, "1", &rp.pos)
	if m := readServer(t, disp); m.Resumed == nil || m.Resumed.Seq != 4 {
		t.Fatalf("resume when current: got %+v, want resumed at 4", m)
	}
	disp.Close()

	cases := []struct {
		name   string
		resume protocol.Position
		churn  int
	}{
		{"overrun", rp.pos, 6},
		{"other epoch", protocol.Position{Epoch: "0000000000000000", Seq: 10}, 0},
		{"ahead of agent", protocol.Position{Epoch: r.Epoch(), Seq: 1 << 40}, 0},
	}
	for _, tc := range cases {
		for i := 0; i < tc.churn; i++ {
			c = basket("1", 1+i%3)
			c.Order = fmt.Sprint("churn", i)
			sendCart(t, pos, fmt.Sprint("c", i), c)
		}
		d := dialDisplay(t, r, "1", &tc.resume)
		m := readServer(t, d)
		if m.Snapshot == nil {
			t.Fatalf("%s: got %s, want snapshot", tc.name, m.Type)
		}
		if !cart.Equal(m.Snapshot.Cart, c) || m.Snapshot.Epoch != r.Epoch() {
			t.Fatalf("%s: snapshot got %+v, want %+v", tc.name, m.Snapshot, c)
		}
		d.Close()
	}
}

func TestSlowDisplayDoesNotDelayOthers(t *testing.T) {
	cfg := testConfig(t)
	// A short queue, so that the slow display overflows soon; the POS
	// burst must fit in it (a burst of one at a high rate).
	cfg.POS.RateBurst, cfg.POS.RateLimit = 1, 1e6
	cfg.Display.QueueFrames = 1 + queueHeadroom
	// The slow display reads nothing, so it answers no ping either: with
	// the default interval the liveness check cuts it when the 60 changes
	// take longer than a few pings (a loaded machine), which is not what
	// this test is about. The longest interval keeps it connected.
	cfg.Display.PingInterval = configfile.Duration(5 * time.Minute)
	r := start(t, cfg)
	pos := dialPOS(t, r, "1")

	slow := dialDisplayWith(t, smallBufferDialer(), r, "1", nil) // never reads until the end
	fast := dialDisplay(t, r, "1", nil)
	var fr replica
	fr.follow(t, fast, 0)

	// Large carts so that the slow display's socket buffers fill up.
	var c cart.Cart
	const changes = 60
	for i := 1; i <= changes; i++ {
		c = basket("1", 40)
		for j := range c.Lines { // every line changes: ~25 kB per delta
			c.Lines[j].UnitPrice = cart.Money(i + j)
			c.Lines[j].Title = fmt.Sprintf("Item %d, revision %d: a long product title to fill the socket", j, i)
		}
		Recompute(&c, 800)
		seq := sendCart(t, pos, fmt.Sprint(i), c)
		fr.follow(t, fast, seq) // the fast display sees every change as it happens
	}
	if !cart.Equal(fr.cart, c) {
		t.Fatalf("fast display: final cart differs")
	}
	// The slow display catches up through a fresh snapshot, not a replay
	// of everything it missed.
	var sr replica
	snapshots := 0
	for sr.pos.Seq < changes {
		m := readServer(t, slow)
		switch {
		case m.Snapshot != nil:
			snapshots++
			sr.pos, sr.cart = m.Snapshot.Position, m.Snapshot.Cart
		case m.Delta != nil:
			if m.Delta.Seq != sr.pos.Seq+1 {
				t.Fatalf("slow display: delta %d after %d without a snapshot", m.Delta.Seq, sr.pos.Seq)
			}
			cc, err := cart.Apply(sr.cart, m.Delta.Ops)
			if err != nil {
				t.Fatal(err)
			}
			sr.pos, sr.cart = m.Delta.Position, cc
		}
	}
	if !cart.Equal(sr.cart, c) {
		t.Fatalf("slow display: final cart differs")
	}
	if snapshots < 2 {
		t.Fatalf("slow display got %d snapshots, want the initial one and at least one resync", snapshots)
	}
}

func TestRegistersAreIsolated(t *testing.T) {
	r := start(t, testConfig(t))
	pos1, pos2 := dialPOS(t, r, "1"), dialPOS(t, r, "2")
	d1, d2 := dialDisplay(t, r, "1", nil), dialDisplay(t, r, "2", nil)
	var r1, r2 replica
	r1.follow(t, d1, 0)
	r2.follow(t, d2, 0)
	c1, c2 := basket("1", 2), basket("2", 5)
	s1 := sendCart(t, pos1, "a", c1)
	s2 := sendCart(t, pos2, "b", c2)
	r1.follow(t, d1, s1)
	r2.follow(t, d2, s2)
	if !cart.Equal(r1.cart, c1) || !cart.Equal(r2.cart, c2) {
		t.Fatalf("registers mixed: got %+v / %+v", r1.cart, r2.cart)
	}
	// A cart for register 2 on register 1's socket is refused.
	writeJSON(t, pos1, protocol.CartMsg{Type: protocol.TypeCart, ID: protocol.StringID("x"), Cart: c2})
	if _, e := answer(t, pos1); e == nil || e.Code != protocol.CodeWrongRegister {
		t.Fatalf("cross-register cart: got %+v, want wrong_register", e)
	}
	if got := r.streams["1"].Cart(); !cart.Equal(got, c1) {
		t.Fatalf("register 1 changed by a rejected cart")
	}
}

func TestBadPOSInput(t *testing.T) {
	cfg := testConfig(t)
	cfg.POS.MaxMessageBytes = 64 << 10
	r := start(t, cfg)
	pos := dialPOS(t, r, "1")
	good := basket("1", 2)
	seq := sendCart(t, pos, "good", good)

	cartJSON := func(edit func(m map[string]any)) string {
		var m map[string]any
		b, _ := json.Marshal(good)
		_ = json.Unmarshal(b, &m)
		edit(m)
		out, _ := json.Marshal(map[string]any{"type": "cart", "id": "bad", "cart": m})
		return string(out)
	}
	line := func(m map[string]any, i int) map[string]any { return m["lines"].([]any)[i].(map[string]any) }
	cases := []struct {
		name, msg, code, field string
	}{
		{"not json", `{"type":`, protocol.CodeBadJSON, ""},
		{"array", `[1,2]`, protocol.CodeBadJSON, ""},
		{"no type", `{"id":"x"}`, protocol.CodeBadMessage, "type"},
		{"unknown type", `{"type":"refund","id":"x"}`, protocol.CodeBadMessage, "type"},
		{"type not string", `{"type":7}`, protocol.CodeBadMessage, "type"},
		{"id object", `{"type":"clear","id":{}}`, protocol.CodeBadMessage, "id"},
		{"float price", cartJSON(func(m map[string]any) { line(m, 1)["unit_price"] = 1.5 }), protocol.CodeBadMessage, "lines[1].unit_price"},
		{"string price", cartJSON(func(m map[string]any) { line(m, 0)["unit_price"] = "100" }), protocol.CodeBadMessage, "lines[0].unit_price"},
		{"negative price", cartJSON(func(m map[string]any) { line(m, 1)["unit_price"] = -1 }), protocol.CodeInvalidCart, "lines[1].unit_price"},
		{"huge price", cartJSON(func(m map[string]any) { line(m, 0)["unit_price"] = json.Number("99999999999999999999999") }), protocol.CodeBadMessage, "lines[0].unit_price"},
		{"4 decimals", cartJSON(func(m map[string]any) { line(m, 0)["quantity"] = json.Number("1.0001") }), protocol.CodeBadMessage, "lines[0].quantity"},
		{"negative qty", cartJSON(func(m map[string]any) { line(m, 0)["quantity"] = -1 }), protocol.CodeInvalidCart, "lines[0].quantity"},
		{"wrong total", cartJSON(func(m map[string]any) { m["total"] = 1 }), protocol.CodeInvalidCart, "total"},
		{"bad currency", cartJSON(func(m map[string]any) { m["currency"] = "XYZ" }), protocol.CodeInvalidCart, "currency"},
		{"bad state", cartJSON(func(m map[string]any) { m["state"] = "paid" }), protocol.CodeInvalidCart, "state"},
		{"unknown field", cartJSON(func(m map[string]any) { m["totl"] = 1 }), protocol.CodeBadMessage, ""},
		{"long title", cartJSON(func(m map[string]any) { line(m, 0)["title"] = strings.Repeat("é", 201) }), protocol.CodeInvalidCart, "lines[0].title"},
		{"control char", cartJSON(func(m map[string]any) { line(m, 0)["title"] = "a\u0007b" }), protocol.CodeInvalidCart, "lines[0].title"},
		{"duplicate ids", cartJSON(func(m map[string]any) { line(m, 1)["id"] = line(m, 0)["id"] }), protocol.CodeInvalidCart, "lines[1].id"},
		{"other register", cartJSON(func(m map[string]any) { m["register"] = "2" }), protocol.CodeWrongRegister, "register"},
		{"too large", `{"type":"clear","id":"` + strings.Repeat("a", 70<<10) + `"}`, protocol.CodeTooLarge, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := pos.WriteMessage(websocket.TextMessage, []byte(tc.msg)); err != nil {
				t.Fatal(err)
			}
			ack, e := answer(t, pos)
			if e == nil {
				t.Fatalf("got ack %+v, want error %s", ack, tc.code)
			}
			if e.Code != tc.code || (tc.field != "" && e.Field != tc.field) {
				t.Fatalf("got %s/%q (%s), want %s/%q", e.Code, e.Field, e.Message, tc.code, tc.field)
			}
			if e.Message == "" {
				t.Fatalf("error without a message")
			}
		})
	}
	if err := pos.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"clear"}`)); err != nil {
		t.Fatal(err)
	}
	if _, e := answer(t, pos); e == nil || e.Code != protocol.CodeBadJSON {
		t.Fatalf("binary frame: got %+v, want bad_json", e)
	}
	// Nothing changed, and the socket still works.
	if got := r.streams["1"]; got.Position().Seq != seq || !cart.Equal(got.Cart(), good) {
		t.Fatalf("state changed by rejected messages: seq %d", got.Position().Seq)
	}
	good.Lines[0].Quantity = 2000
	Recompute(&good, 800)
	if s := sendCart(t, pos, "after", good); s != seq+1 {
		t.Fatalf("after bad input: seq got %d, want %d", s, seq+1)
	}
	// Beyond the hard limit the agent closes the socket with 1009. It may
	// close while the rest of the frame is still in flight, in which case
	// the kernel resets the connection instead.
	reset := func(err error) bool { return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) }
	if err := pos.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("a"), 300<<10)); err != nil && !reset(err) {
		t.Fatal(err)
	}
	_ = pos.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := pos.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) && !reset(err) {
		t.Fatalf("over hard limit: got %v, want close 1009", err)
	}
}

func TestPOSAccessControl(t *testing.T) {
	cfg := testConfig(t)
	cfg.POS.BridgeToken = "bridge-token-0123456789"
	r := start(t, cfg)
	dial := func(url string, origin string) (*websocket.Conn, *http.Response, error) {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		return websocket.DefaultDialer.Dial(url, h)
	}
	for _, origin := range []string{"http://evil.test", "", "null", testOrigin + ".evil"} {
		ws, resp, err := dial(r.posURL("1")+"&token="+cfg.POS.BridgeToken, origin)
		if err == nil {
			ws.Close()
			t.Fatalf("origin %q: connected, want 403", origin)
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("origin %q: got %v, want 403", origin, resp)
		}
		var e protocol.Error
		body, _ := io.ReadAll(resp.Body)
		if json.Unmarshal(body, &e) != nil || e.Code != protocol.CodeForbiddenOrigin {
			t.Fatalf("origin %q: body %s, want forbidden_origin", origin, body)
		}
	}
	refused := []struct {
		name, url, code string
	}{
		{"missing token", r.posURL("1"), protocol.CodeUnauthorized},
		{"wrong token", r.posURL("1") + "&token=wrong-token-0123456789", protocol.CodeUnauthorized},
		{"unknown register", r.posURL("9") + "&token=" + cfg.POS.BridgeToken, protocol.CodeUnknownRegister},
		{"no register", fmt.Sprintf("ws://%s/v1/pos", r.POSAddr()), protocol.CodeUnknownRegister},
	}
	for _, tc := range refused {
		ws, _, err := dial(tc.url, testOrigin)
		if err != nil {
			t.Fatalf("%s: dial: %v", tc.name, err)
		}
		var e protocol.Error
		readJSON(t, ws, &e)
		if e.Code != tc.code {
			t.Fatalf("%s: got %+v, want %s", tc.name, e, tc.code)
		}
		_, _, err = ws.ReadMessage()
		if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
			t.Fatalf("%s: got %v, want close 1008", tc.name, err)
		}
		ws.Close()
	}
	ws, _, err := dial(r.posURL("1")+"&token="+cfg.POS.BridgeToken, testOrigin)
	if err != nil {
		t.Fatalf("good token: %v", err)
	}
	defer ws.Close()
	var w protocol.Welcome
	readJSON(t, ws, &w)
	if w.Type != protocol.TypeWelcome {
		t.Fatalf("good token: got %+v", w)
	}
}

func TestDisplayAccessControl(t *testing.T) {
	r := start(t, testConfig(t))
	cases := []struct {
		name, hello, code string
	}{
		{"missing token", `{"type":"hello","register":"1"}`, protocol.CodeUnauthorized},
		{"wrong token", `{"type":"hello","register":"1","token":"nope-nope-nope-nope"}`, protocol.CodeUnauthorized},
		{"unknown register", `{"type":"hello","register":"9","token":"` + testToken + `"}`, protocol.CodeUnknownRegister},
		{"not a hello", `{"type":"resync"}`, protocol.CodeBadHello},
		{"garbage", `hello`, protocol.CodeBadJSON},
	}
	for _, tc := range cases {
		ws, _, err := websocket.DefaultDialer.Dial(r.displayURL(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := ws.WriteMessage(websocket.TextMessage, []byte(tc.hello)); err != nil {
			t.Fatal(err)
		}
		var e protocol.Error
		readJSON(t, ws, &e)
		if e.Type != protocol.TypeError || e.Code != tc.code {
			t.Fatalf("%s: got %+v, want error %s", tc.name, e, tc.code)
		}
		_, _, err = ws.ReadMessage()
		if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
			t.Fatalf("%s: got %v, want close 1008", tc.name, err)
		}
		ws.Close()
	}
	// A web page from another origin cannot use a visitor's browser as a display.
	_, resp, err := websocket.DefaultDialer.Dial(r.displayURL(), http.Header{"Origin": {"http://evil.test"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin display: got %v %v, want 403", err, resp)
	}
}

func TestRateLimit(t *testing.T) {
	cfg := testConfig(t)
	cfg.POS.RateLimit = 0.001 // effectively no refill during the test
	cfg.POS.RateBurst = 3
	r := start(t, cfg)
	pos := dialPOS(t, r, "1")
	limited := 0
	for i := 0; i < 6; i++ {
		writeJSON(t, pos, protocol.ClearMsg{Type: protocol.TypeClear, ID: protocol.StringID(fmt.Sprint(i))})
		_, e := answer(t, pos)
		if e != nil {
			if e.Code != protocol.CodeRateLimited || string(e.ID) != fmt.Sprintf("%q", fmt.Sprint(i)) {
				t.Fatalf("message %d: got %+v, want rate_limited with its id", i, e)
			}
			limited++
		}
	}
	if limited != 3 {
		t.Fatalf("got %d rate-limited answers, want 3", limited)
	}
}

func TestREST(t *testing.T) {
	cfg := testConfig(t)
	cfg.POS.BackendToken = "backend-token-0123456789"
	cfg.POS.MaxMessageBytes = 32 << 10
	r := start(t, cfg)
	disp := dialDisplay(t, r, "2", nil)
	var rp replica
	rp.follow(t, disp, 0)
	good, _ := json.Marshal(basket("2", 3))
	url := func(reg string) string { return fmt.Sprintf("http://%s/v1/registers/%s/cart", r.POSAddr(), reg) }
	do := func(method, u, token string, body []byte) (int, map[string]any) {
		req, _ := http.NewRequest(method, u, bytes.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	cases := []struct {
		name, method, reg, token string
		body                     []byte
		status                   int
		code                     string
	}{
		{"no token", "POST", "2", "", good, 401, protocol.CodeUnauthorized},
		{"wrong token", "POST", "2", "wrong-wrong-wrong-wrong", good, 401, protocol.CodeUnauthorized},
		{"unknown register", "POST", "7", cfg.POS.BackendToken, good, 404, protocol.CodeUnknownRegister},
		{"register mismatch", "POST", "1", cfg.POS.BackendToken, good, 400, protocol.CodeWrongRegister},
		{"bad json", "POST", "2", cfg.POS.BackendToken, []byte("{"), 400, protocol.CodeBadJSON},
		{"too large", "POST", "2", cfg.POS.BackendToken, bytes.Repeat([]byte(" "), 40<<10), 413, protocol.CodeTooLarge},
		{"good", "POST", "2", cfg.POS.BackendToken, good, 200, ""},
		{"clear", "DELETE", "2", cfg.POS.BackendToken, nil, 200, ""},
	}
	for _, tc := range cases {
		status, m := do(tc.method, url(tc.reg), tc.token, tc.body)
		if status != tc.status || (tc.code != "" && m["code"] != tc.code) {
			t.Fatalf("%s: got %d %v, want %d %s", tc.name, status, m, tc.status, tc.code)
		}
		if tc.code == "" && m["type"] != protocol.TypeAck {
			t.Fatalf("%s: got %v, want ack", tc.name, m)
		}
	}
	rp.follow(t, disp, 2)
	if rp.cart.State != cart.StateIdle {
		t.Fatalf("after REST clear: got %+v", rp.cart)
	}
}

func TestRestartRestoresCart(t *testing.T) {
	cfg := testConfig(t)
	r := start(t, cfg)
	pos := dialPOS(t, r, "1")
	c := basket("1", 7)
	sendCart(t, pos, "a", c)
	epoch := r.Epoch()
	r.stop()

	r2 := start(t, cfg)
	if r2.Epoch() == epoch {
		t.Fatalf("epoch did not change across restarts")
	}
	disp := dialDisplay(t, r2, "1", &protocol.Position{Epoch: epoch, Seq: 1})
	m := readServer(t, disp)
	if m.Snapshot == nil || !cart.Equal(m.Snapshot.Cart, c) || m.Snapshot.Epoch != r2.Epoch() || !m.Snapshot.Restored {
		t.Fatalf("after restart: got %+v, want snapshot of the persisted cart, marked restored", m)
	}
	// The POS page reconnects and re-sends the same cart: that confirms it.
	pos2 := dialPOS(t, r2, "1")
	if seq := sendCart(t, pos2, "b", c); seq != 1 {
		t.Fatalf("confirming ack: got seq %d, want 1", seq)
	}
	if m := readServer(t, disp); m.Delta == nil || m.Delta.Seq != 1 || len(m.Delta.Ops) != 0 {
		t.Fatalf("after confirmation: got %+v, want an empty delta at seq 1", m)
	}
	if late := dialDisplay(t, r2, "1", nil); readServer(t, late).Snapshot.Restored {
		t.Fatal("a display joining after confirmation got a restored snapshot")
	}
}

func TestShutdownClosesSockets(t *testing.T) {
	r := start(t, testConfig(t))
	pos := dialPOS(t, r, "1")
	disp := dialDisplay(t, r, "1", nil)
	var rp replica
	rp.follow(t, disp, 0)
	r.stop()
	for name, ws := range map[string]*websocket.Conn{"pos": pos, "display": disp} {
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		var err error
		for err == nil { // heartbeats may come first
			_, _, err = ws.ReadMessage()
		}
		if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Fatalf("%s: got %v, want close 1001", name, err)
		}
	}
}

func TestHealthAndMetrics(t *testing.T) {
	r := start(t, testConfig(t))
	pos := dialPOS(t, r, "1")
	disp := dialDisplay(t, r, "1", nil)
	var rp replica
	rp.follow(t, disp, 0)
	seq := sendCart(t, pos, "a", basket("1", 2))
	rp.follow(t, disp, seq)
	writeJSON(t, pos, map[string]any{"type": "nope"})
	answer(t, pos)

	resp, err := http.Get(fmt.Sprintf("http://%s/healthz", r.POSAddr()))
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Status    string
		Registers map[string]registerHealth
	}
	_ = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if h.Status != "ok" || h.Registers["1"].Displays != 1 || !h.Registers["1"].POSConnected || h.Registers["1"].Seq != seq {
		t.Fatalf("healthz: got %+v", h)
	}
	resp, err = http.Get(fmt.Sprintf("http://%s/metrics", r.POSAddr()))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`posdisplay_displays_connected{register="1"} 1`,
		`posdisplay_pos_events_total{reason="cart",result="accepted"} 1`,
		`posdisplay_pos_events_total{reason="bad_message",result="rejected"} 1`,
		`posdisplay_fanout_latency_seconds_count 1`,
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		name string
		edit func(c *Config)
		key  string // the *ConfigError's key
	}{
		{"no registers", func(c *Config) { c.Registers = nil }, "registers"},
		{"bad register", func(c *Config) { c.Registers = []string{"lane 1"} }, "registers"},
		{"dup register", func(c *Config) { c.Registers = []string{"a", "a"} }, "registers"},
		{"currency", func(c *Config) { c.Currency = "usd" }, "currency"},
		{"origin with path", func(c *Config) { c.POS.AllowedOrigins = []string{"http://x/pos"} }, "pos.allowed_origins"},
		{"short token", func(c *Config) { c.Display.Tokens = []string{"abc"} }, "display.tokens[0]"},
		{"listen", func(c *Config) { c.POS.Listen = "7421" }, "pos.listen"},
		{"log level", func(c *Config) { c.LogLevel = "loud" }, "log_level"},
		{"POS on the network without a bridge token", func(c *Config) { c.POS.Listen = ":7421" }, "pos.listen"},
		{"ping interval", func(c *Config) { c.Display.PingInterval = configfile.Duration(time.Nanosecond) }, "display.ping_interval"},
		{"scan ttl", func(c *Config) { c.ScanTTL = configfile.Duration(-time.Second) }, "scan_ttl"},
		{"demo pace", func(c *Config) { c.Demo.Pace = configfile.Duration(time.Microsecond) }, "demo.pace"},
		{"negative connections", func(c *Config) { c.Display.MaxConnections = -1 }, "display.max_connections"},
		{"advertise without TLS", func(c *Config) { c.Discovery.Advertise = true }, "discovery.advertise"},
		{"no state dir", func(c *Config) { c.State.Dir = "" }, "state.dir"},
		{"cert_file without key_file", func(c *Config) { c.Display.TLS, c.Display.CertFile = true, "/etc/posdisplay/tls/display.crt" }, "display.key_file"},
		{"key_file without cert_file", func(c *Config) { c.Display.TLS, c.Display.KeyFile = true, "/etc/posdisplay/tls/display.key" }, "display.cert_file"},
		{"cert_file without tls", func(c *Config) {
			c.Display.CertFile, c.Display.KeyFile = "/etc/posdisplay/tls/display.crt", "/etc/posdisplay/tls/display.key"
		}, "display.cert_file"},
	}
	for _, tc := range cases {
		c := DefaultConfig()
		tc.edit(&c)
		if got := configErrorKeys(c.Validate()); !slices.Equal(got, []string{tc.key}) {
			t.Errorf("%s: got errors for %q, want one for %q", tc.name, got, tc.key)
		}
	}
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

func TestLoadConfigRejectsUnknownKeys(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/agent.toml"
	if err := writeFile(p, "registers = [\"a\"]\n[pos]\nlisten = \"127.0.0.1:1\"\nallowed_orgins = []\n"); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(p)
	var uk *configfile.UnknownKeysError
	if !errors.As(err, &uk) || !slices.Equal(uk.Keys, []string{"pos.allowed_orgins"}) {
		t.Fatalf("got %v, want unknown key pos.allowed_orgins", err)
	}
	if err := writeFile(p, "registers = [\"a\", \"b\"]\ncurrency = \"EUR\"\n[display]\nping_interval = \"5s\"\n"); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(p)
	if err != nil || cfg.Currency != "EUR" || len(cfg.Registers) != 2 || time.Duration(cfg.Display.PingInterval) != 5*time.Second || cfg.POS.Listen != "127.0.0.1:7421" {
		t.Fatalf("got %+v %v", cfg, err)
	}
	if err := writeFile(p, "[display]\nping_interval = \"soon\"\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(p); err == nil {
		t.Fatal("bad duration accepted")
	}
}

// TestBareDefaultsAnnounceNothing: the built-in defaults (used by tests,
// demos and developers) must never send mDNS on the machine's network; the
// packaged config file turns it on.
func TestBareDefaultsAnnounceNothing(t *testing.T) {
	if c := DefaultConfig(); c.Discovery.Advertise || c.Demo.Cashier || c.Demo.Page {
		t.Fatalf("defaults: %+v", c)
	}
}

// TestStoreCertUnusableStopsStart: a display.cert_file that cannot serve
// (here: the key of another certificate) stops the agent at start, with
// an error saying which key, rather than a listener no tablet can use.
func TestStoreCertUnusableStopsStart(t *testing.T) {
	ca := storecerttest.NewCA(t, "Test Store CA")
	dir := t.TempDir()
	cert, _ := ca.Issue(t, "lane1", "lane1.store.test")
	_, otherKey := ca.Issue(t, "other", "lane1.store.test")
	cfg := testConfig(t)
	cfg.Display.TLS = true
	cfg.Display.CertFile, cfg.Display.KeyFile = filepath.Join(dir, "display.crt"), filepath.Join(dir, "display.key")
	storecerttest.Replace(t, cfg.Display.CertFile, cert)
	storecerttest.Replace(t, cfg.Display.KeyFile, otherKey)
	if _, err := New(cfg, testLogger(t), Options{}); !errors.Is(err, storecert.ErrUnusable) {
		t.Fatalf("New with the key of another certificate: got %v, want storecert.ErrUnusable", err)
	}
}
