package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/clock/clocktest"
	"github.com/posdisplay/posdisplay/register/metrics"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/stream"
	"github.com/posdisplay/posdisplay/register/testlog"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestLimiter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	type step struct {
		at   time.Duration // since t0
		want bool
	}
	tests := []struct {
		name        string
		rate, burst float64
		steps       []step
	}{
		{"burst then empty", 2, 3, []step{{0, true}, {0, true}, {0, true}, {0, false}}},
		{"refill half a second at 2/s", 2, 3, []step{{0, true}, {0, true}, {0, true}, {500 * time.Millisecond, true}, {500 * time.Millisecond, false}}},
		{"refill capped at burst", 2, 3, []step{{0, true}, {0, true}, {0, true}, {time.Hour, true}, {time.Hour, true}, {time.Hour, true}, {time.Hour, false}}},
		{"fractional tokens add up", 1, 1, []step{{0, true}, {400 * time.Millisecond, false}, {800 * time.Millisecond, false}, {1000 * time.Millisecond, true}}},
		{"rate 0 disables", 0, 1, []step{{0, true}, {0, true}, {0, true}}},
		{"negative rate disables", -1, 1, []step{{0, true}, {0, true}}},
		{"clock step back earns nothing", 1, 1, []step{{10 * time.Second, true}, {0, false}, {10 * time.Second, false}, {11 * time.Second, true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(tc.rate, tc.burst)
			for i, s := range tc.steps {
				if got := l.AllowN(t0.Add(s.at), 1); got != s.want {
					t.Fatalf("step %d (at %v): got %v, want %v", i, s.at, got, s.want)
				}
			}
		})
	}
}

func TestOriginAllowed(t *testing.T) {
	tests := []struct {
		name    string
		allowed []string
		missing bool
		origin  string
		want    bool
	}{
		{"exact", []string{"https://pos.example"}, false, "https://pos.example", true},
		{"with port", []string{"http://127.0.0.1:8080"}, false, "http://127.0.0.1:8080", true},
		{"other port", []string{"http://127.0.0.1:8080"}, false, "http://127.0.0.1:8081", false},
		{"case of host", []string{"https://POS.Example"}, false, "https://pos.example", true},
		{"case of scheme", []string{"HTTPS://pos.example"}, false, "https://pos.example", true},
		{"trailing slash in config", []string{"https://pos.example/"}, false, "https://pos.example", true},
		{"other scheme", []string{"https://pos.example"}, false, "http://pos.example", false},
		{"suffix attack", []string{"https://pos.example"}, false, "https://pos.example.evil.test", false},
		{"prefix attack", []string{"https://pos.example"}, false, "https://evilpos.example", false},
		{"second entry", []string{"https://a.example", "https://b.example"}, false, "https://b.example", true},
		{"null origin", []string{"https://pos.example"}, false, "null", false},
		{"missing, not allowed", []string{"https://pos.example"}, false, "", false},
		{"missing, allowed", nil, true, "", true},
		{"empty list", nil, false, "https://pos.example", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := New(nil, nil, metrics.New(), testLogger(t), Options{AllowedOrigins: tc.allowed, AllowMissingOrigin: tc.missing})
			if got := in.originAllowed(tc.origin); got != tc.want {
				t.Errorf("origin %q with %q: got %v, want %v", tc.origin, tc.allowed, got, tc.want)
			}
		})
	}
}

func TestBearer(t *testing.T) {
	tests := []struct {
		header string
		want   string
	}{
		{"", ""},
		{"Bearer abc", "abc"},
		{"bearer abc", "abc"},
		{"BEARER abc", "abc"},
		{"Bearer  abc ", "abc"},
		{"Bearer ", ""},
		{"Bearer", ""},
		{"Basic abc", ""},
		{"Bearerabc", ""},
		{"abc", ""},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		if got := bearer(r); got != tc.want {
			t.Errorf("Authorization %q: got %q, want %q", tc.header, got, tc.want)
		}
	}
}

func TestTokenOK(t *testing.T) {
	tests := []struct {
		got, want string
		ok        bool
	}{
		{"secret", "secret", true},
		{"secreT", "secret", false},
		{"secret1", "secret", false},
		{"", "secret", false},
		{"", "", false},
		{"x", "", false},
	}
	for _, tc := range tests {
		if ok := tokenOK(tc.got, tc.want); ok != tc.ok {
			t.Errorf("tokenOK(%q, %q): got %v, want %v", tc.got, tc.want, ok, tc.ok)
		}
	}
}

func TestStatusFor(t *testing.T) {
	tests := []struct {
		code string
		want int
	}{
		{protocol.CodeBadJSON, http.StatusBadRequest},
		{protocol.CodeBadMessage, http.StatusBadRequest},
		{protocol.CodeInvalidCart, http.StatusBadRequest},
		{protocol.CodeWrongRegister, http.StatusBadRequest},
		{protocol.CodeTooLarge, http.StatusRequestEntityTooLarge},
		{protocol.CodeRateLimited, http.StatusTooManyRequests},
		{protocol.CodeUnknownRegister, http.StatusNotFound},
		{protocol.CodeUnauthorized, http.StatusUnauthorized},
		{protocol.CodeForbiddenOrigin, http.StatusForbidden},
		{protocol.CodeShuttingDown, http.StatusServiceUnavailable},
		{protocol.CodeInternal, http.StatusInternalServerError},
		{"something_new", http.StatusBadRequest},
	}
	for _, tc := range tests {
		if got := StatusFor(tc.code); got != tc.want {
			t.Errorf("StatusFor(%q): got %d, want %d", tc.code, got, tc.want)
		}
	}
}

// saves is a hand-written Saver. With hold set, each save's outcome waits
// until the test sends it on hold.
type saves struct {
	mu    sync.Mutex
	carts []cart.Cart
	hold  chan error
	seen  chan struct{} // receives one value per Save when hold is set
}

func (s *saves) Save(c cart.Cart, seq uint64) <-chan error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.carts = append(s.carts, c)
	ch := make(chan error, 1)
	if s.hold == nil {
		ch <- nil
		close(ch)
		return ch
	}
	s.seen <- struct{}{}
	go func() { ch <- <-s.hold; close(ch) }()
	return ch
}

func (s *saves) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.carts)
}

const origin = "http://pos.test"

type fixture struct {
	t     *testing.T
	in    *Ingest
	st    *stream.Stream
	saves *saves
	srv   *httptest.Server
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	if opts.AllowedOrigins == nil {
		opts.AllowedOrigins = []string{origin}
	}
	st := stream.New("1", "ep1", cart.Empty("1", "USD"), 16)
	sv := &saves{}
	in := New(map[string]*stream.Stream{"1": st}, sv, metrics.New(), testLogger(t), opts)
	mux := http.NewServeMux()
	in.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		if err := in.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
		srv.Close()
	})
	return &fixture{t: t, in: in, st: st, saves: sv, srv: srv}
}

func (f *fixture) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/v1/pos?" + query
}

// dial opens a POS socket for register 1 and reads the welcome.
func (f *fixture) dial() *websocket.Conn {
	f.t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(f.wsURL("register=1"), http.Header{"Origin": {origin}})
	if err != nil {
		f.t.Fatalf("dial: %v (%v)", err, resp)
	}
	f.t.Cleanup(func() { ws.Close() })
	if got := readMsg(f.t, ws); got.Type != protocol.TypeWelcome {
		f.t.Fatalf("first message: got %+v, want welcome", got)
	}
	return ws
}

// msg is the part of agent → page messages the tests look at.
type msg struct {
	Type string          `json:"type"`
	ID   json.RawMessage `json:"id"`
	Seq  uint64          `json:"seq"`
	Code string          `json:"code"`
}

func readMsg(t *testing.T, ws *websocket.Conn) msg {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m msg
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return m
}

func readClose(t *testing.T, ws *websocket.Conn) int {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		if err != nil {
			t.Fatalf("read: got %v, want a close frame", err)
		}
	}
}

func send(t *testing.T, ws *websocket.Conn, s string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// cartMsg encodes a valid cart message for register 1 whose order number
// makes it differ from the others.
func cartMsg(t *testing.T, id, order string) string {
	t.Helper()
	c := cart.Empty("1", "USD")
	c.Order = order
	data, err := json.Marshal(protocol.CartMsg{Type: protocol.TypeCart, ID: protocol.StringID(id), Cart: c})
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestPOSAnswersEveryMessage(t *testing.T) {
	f := newFixture(t, Options{})
	ws := f.dial()
	tests := []struct {
		name     string
		send     string
		wantType string
		wantCode string
		wantSeq  uint64
	}{
		{"cart", cartMsg(t, "c1", "A-1"), protocol.TypeAck, "", 1},
		{"same cart", cartMsg(t, "c2", "A-1"), protocol.TypeAck, "", 1},
		{"bad json", `{"type":`, protocol.TypeError, protocol.CodeBadJSON, 0},
		{"unknown type", `{"type":"bogus","id":"x"}`, protocol.TypeError, protocol.CodeBadMessage, 0},
		{"wrong register", strings.Replace(cartMsg(t, "c3", "A-2"), `"register":"1"`, `"register":"2"`, 1), protocol.TypeError, protocol.CodeWrongRegister, 0},
		{"clear", `{"type":"clear","id":"c4"}`, protocol.TypeAck, "", 2},
	}
	for _, tc := range tests {
		send(t, ws, tc.send)
		got := readMsg(t, ws)
		if got.Type != tc.wantType || got.Code != tc.wantCode || (tc.wantType == protocol.TypeAck && got.Seq != tc.wantSeq) {
			t.Errorf("%s: got %+v, want %s %s seq %d", tc.name, got, tc.wantType, tc.wantCode, tc.wantSeq)
		}
	}
	if got := f.st.Position().Seq; got != 2 {
		t.Errorf("stream seq: got %d, want 2", got)
	}
	if got := f.saves.count(); got != 2 {
		t.Errorf("saves: got %d, want 2 (one per change)", got)
	}
}

// An ack promises the cart is on disk: it is written only once the store
// reports the write, and a failed write is acked too (the cart is live; the
// store retries it and health says degraded).
func TestPOSAckFollowsDurableWrite(t *testing.T) {
	f := newFixture(t, Options{})
	f.saves.hold = make(chan error)
	f.saves.seen = make(chan struct{}, 4)
	ws := f.dial()
	for i, outcome := range []error{nil, errors.New("disk full")} {
		send(t, ws, cartMsg(t, "c", fmt.Sprint("A-", i)))
		<-f.saves.seen // the cart reached the store and no ack can be out yet
		acked := make(chan msg, 1)
		go func() { acked <- readMsg(t, ws) }()
		select { // a negative check, bounded: an early ack would be here at once
		case got := <-acked:
			t.Fatalf("answer %+v before the write finished", got)
		case <-time.After(50 * time.Millisecond):
		}
		f.saves.hold <- outcome
		if got := <-acked; got.Type != protocol.TypeAck || got.Seq != uint64(i+1) {
			t.Errorf("write outcome %v: got %+v, want ack seq %d", outcome, got, i+1)
		}
	}
}

// The reader goes on with the next message while a cart is being written
// (one fsync then covers several carts), and the answers still come in the
// order of the messages, each ack after its write.
func TestPOSReadsOnWhileSaving(t *testing.T) {
	f := newFixture(t, Options{})
	f.saves.hold = make(chan error)
	f.saves.seen = make(chan struct{}, 4)
	ws := f.dial()
	send(t, ws, cartMsg(t, "c1", "A-1"))
	send(t, ws, cartMsg(t, "c2", "A-2"))
	send(t, ws, `{"type":`)
	// Both carts reach the store while the first write is still held: a
	// reader that waited for each ack would never get to the second.
	<-f.saves.seen
	<-f.saves.seen
	if got := f.st.Position().Seq; got != 2 {
		t.Errorf("stream seq while the first write is held: got %d, want 2", got)
	}
	f.saves.hold <- nil
	f.saves.hold <- nil
	want := []struct {
		typ, code string
		seq       uint64
	}{{protocol.TypeAck, "", 1}, {protocol.TypeAck, "", 2}, {protocol.TypeError, protocol.CodeBadJSON, 0}}
	for i, w := range want {
		got := readMsg(t, ws)
		if got.Type != w.typ || got.Code != w.code || got.Seq != w.seq {
			t.Errorf("answer %d: got %+v, want %s %s seq %d", i, got, w.typ, w.code, w.seq)
		}
	}
}

// padTo pads a JSON message with trailing spaces to exactly n bytes.
func padTo(t *testing.T, s string, n int) string {
	t.Helper()
	if len(s) > n {
		t.Fatalf("message of %d bytes does not fit in %d", len(s), n)
	}
	return s + strings.Repeat(" ", n-len(s))
}

func TestPOSSizeLimits(t *testing.T) {
	const soft = 2048
	f := newFixture(t, Options{SoftLimit: soft, HardLimit: 4 * soft})
	ws := f.dial()

	send(t, ws, padTo(t, cartMsg(t, "at", "A-1"), soft))
	if got := readMsg(t, ws); got.Type != protocol.TypeAck {
		t.Fatalf("exactly the soft limit: got %+v, want ack", got)
	}
	send(t, ws, padTo(t, cartMsg(t, "over", "A-2"), soft+1))
	if got := readMsg(t, ws); got.Code != protocol.CodeTooLarge {
		t.Fatalf("soft limit + 1: got %+v, want %s", got, protocol.CodeTooLarge)
	}
	send(t, ws, padTo(t, cartMsg(t, "hard", "A-3"), 4*soft))
	if got := readMsg(t, ws); got.Code != protocol.CodeTooLarge {
		t.Fatalf("exactly the hard limit: got %+v, want %s", got, protocol.CodeTooLarge)
	}
	send(t, ws, cartMsg(t, "next", "A-4"))
	if got := readMsg(t, ws); got.Type != protocol.TypeAck || got.Seq != 2 {
		t.Fatalf("after too_large the socket stays: got %+v, want ack seq 2", got)
	}
	send(t, ws, padTo(t, cartMsg(t, "huge", "A-5"), 4*soft+1))
	if got := readClose(t, ws); got != websocket.CloseMessageTooBig {
		t.Fatalf("hard limit + 1: got close %d, want %d", got, websocket.CloseMessageTooBig)
	}
	if got := f.st.Position().Seq; got != 2 {
		t.Errorf("stream seq: got %d, want 2 (rejected messages change nothing)", got)
	}
}

func TestPOSRateLimit(t *testing.T) {
	f := newFixture(t, Options{Rate: 1, Burst: 2, Clock: clocktest.New(time.Unix(1000, 0)).Now})
	ws := f.dial()
	for i, want := range []string{protocol.TypeAck, protocol.TypeAck, protocol.TypeError} {
		id := fmt.Sprintf("m%d", i)
		send(t, ws, fmt.Sprintf(`{"type":"clear","id":%q}`, id))
		got := readMsg(t, ws)
		if got.Type != want {
			t.Fatalf("message %d: got %+v, want %s", i, got, want)
		}
		if want == protocol.TypeError && (got.Code != protocol.CodeRateLimited || string(got.ID) != `"`+id+`"`) {
			t.Fatalf("message %d: got %+v, want %s with id %q", i, got, protocol.CodeRateLimited, id)
		}
	}
}

func TestPOSOriginAndToken(t *testing.T) {
	tests := []struct {
		name       string
		opts       Options
		query      string
		header     http.Header
		wantStatus int    // refused before the upgrade
		wantCode   string // refused after the upgrade
	}{
		{"allowed", Options{}, "register=1", http.Header{"Origin": {origin}}, 0, ""},
		{"forbidden origin", Options{}, "register=1", http.Header{"Origin": {"http://evil.test"}}, http.StatusForbidden, ""},
		{"missing origin", Options{}, "register=1", nil, http.StatusForbidden, ""},
		{"missing origin allowed", Options{AllowMissingOrigin: true}, "register=1", nil, 0, ""},
		{"unknown register", Options{}, "register=9", http.Header{"Origin": {origin}}, 0, protocol.CodeUnknownRegister},
		{"token in query", Options{BridgeToken: "bt"}, "register=1&token=bt", http.Header{"Origin": {origin}}, 0, ""},
		{"token as bearer", Options{BridgeToken: "bt"}, "register=1", http.Header{"Origin": {origin}, "Authorization": {"Bearer bt"}}, 0, ""},
		{"wrong token", Options{BridgeToken: "bt"}, "register=1&token=nope", http.Header{"Origin": {origin}}, 0, protocol.CodeUnauthorized},
		{"missing token", Options{BridgeToken: "bt"}, "register=1", http.Header{"Origin": {origin}}, 0, protocol.CodeUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts)
			ws, resp, err := websocket.DefaultDialer.Dial(f.wsURL(tc.query), tc.header)
			if tc.wantStatus != 0 {
				if err == nil {
					ws.Close()
					t.Fatalf("got an upgrade, want HTTP %d", tc.wantStatus)
				}
				if resp == nil || resp.StatusCode != tc.wantStatus {
					t.Fatalf("got %v (%v), want HTTP %d", resp, err, tc.wantStatus)
				}
				return
			}
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer ws.Close()
			got := readMsg(t, ws)
			if tc.wantCode == "" {
				if got.Type != protocol.TypeWelcome {
					t.Fatalf("got %+v, want welcome", got)
				}
				return
			}
			if got.Type != protocol.TypeError || got.Code != tc.wantCode {
				t.Fatalf("got %+v, want error %s", got, tc.wantCode)
			}
			if code := readClose(t, ws); code != websocket.ClosePolicyViolation {
				t.Errorf("close: got %d, want %d", code, websocket.ClosePolicyViolation)
			}
		})
	}
}

// hooks records the scan router's view of the POS side.
type hooks struct {
	mu        sync.Mutex
	connected []string // "register/page"
	acks      []string
	changed   chan struct{}
}

func newHooks(in *Ingest) *hooks {
	h := &hooks{changed: make(chan struct{}, 100)}
	in.PageConnected = func(register string, page uint64) {
		h.mu.Lock()
		h.connected = append(h.connected, fmt.Sprintf("%s/%d", register, page))
		h.mu.Unlock()
		h.changed <- struct{}{}
	}
	in.ScanAcks = func(register, id string) {
		h.mu.Lock()
		h.acks = append(h.acks, register+"/"+id)
		h.mu.Unlock()
		h.changed <- struct{}{}
	}
	return h
}

// wait returns after the next hook call; it fails rather than hang.
func (h *hooks) wait(t *testing.T) {
	t.Helper()
	select {
	case <-h.changed:
	case <-time.After(30 * time.Second):
		t.Fatal("no hook call")
	}
}

func (h *hooks) snapshot() (connected, acks []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.connected...), append([]string(nil), h.acks...)
}

func TestSendToPagePicksTheNewestPage(t *testing.T) {
	f := newFixture(t, Options{})
	h := newHooks(f.in)
	if _, err := f.in.SendToPage("1", protocol.Scan{Type: protocol.TypeScan, ID: "s0"}); !errors.Is(err, ErrNoPage) {
		t.Fatalf("no page: got %v, want ErrNoPage", err)
	}
	older := f.dial()
	h.wait(t)
	newer := f.dial()
	h.wait(t)
	connected, _ := h.snapshot()
	if len(connected) != 2 || connected[0] == connected[1] {
		t.Fatalf("PageConnected calls: got %q, want two, each page with its own id", connected)
	}

	page, err := f.in.SendToPage("1", protocol.Scan{Type: protocol.TypeScan, ID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("1/%d", page); got != connected[1] {
		t.Errorf("SendToPage sent to page %s, want the newer page %s", got, connected[1])
	}
	if got := readMsg(t, newer); got.Type != protocol.TypeScan || string(got.ID) != `"s1"` {
		t.Fatalf("newer page: got %+v, want scan s1", got)
	}
	if _, err := f.in.SendToPage("2", protocol.Scan{Type: protocol.TypeScan, ID: "x"}); !errors.Is(err, ErrNoPage) {
		t.Fatalf("other register: got %v, want ErrNoPage", err)
	}

	// The newest page leaves: the older one receives scans again, and the
	// router hears about it so that the unacked s1 is re-sent there.
	newer.Close()
	h.wait(t)
	if got, _ := h.snapshot(); len(got) != 3 || got[2] != connected[0] {
		t.Fatalf("PageConnected calls: got %q, want 3, the last naming the older page %s (newest page left)", got, connected[0])
	}
	if _, err := f.in.SendToPage("1", protocol.Scan{Type: protocol.TypeScan, ID: "s2"}); err != nil {
		t.Fatal(err)
	}
	if got := readMsg(t, older); got.Type != protocol.TypeScan || string(got.ID) != `"s2"` {
		t.Fatalf("older page: got %+v, want scan s2", got)
	}
}

func TestScanAcksReachTheHook(t *testing.T) {
	f := newFixture(t, Options{})
	h := newHooks(f.in)
	ws := f.dial()
	h.wait(t)
	send(t, ws, `{"type":"ack","id":"s-1"}`)
	send(t, ws, `{"type":"ack","id":7,"seq":3}`)
	h.wait(t)
	h.wait(t)
	_, acks := h.snapshot()
	if want := []string{"1/s-1", "1/7"}; fmt.Sprint(acks) != fmt.Sprint(want) {
		t.Errorf("acks: got %q, want %q", acks, want)
	}
	// Acks are not answered: the next answer is the clear's.
	send(t, ws, `{"type":"clear","id":"c"}`)
	if got := readMsg(t, ws); got.Type != protocol.TypeAck || string(got.ID) != `"c"` {
		t.Errorf("got %+v, want the clear's ack", got)
	}
}

func TestCloseSendsGoingAway(t *testing.T) {
	f := newFixture(t, Options{})
	ws := f.dial()
	closed := make(chan error, 1)
	go func() { closed <- f.in.Close(context.Background()) }()
	if got := readClose(t, ws); got != websocket.CloseGoingAway {
		t.Errorf("close: got %d, want %d", got, websocket.CloseGoingAway)
	}
	ws.Close()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := f.in.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if f.in.PageConnectedNow("1") {
		t.Error("PageConnectedNow after Close: got true, want false")
	}
	_, resp, err := websocket.DefaultDialer.Dial(f.wsURL("register=1"), http.Header{"Origin": {origin}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("socket after Close: got %v, %v; want HTTP 503", resp, err)
	}
}

// A page that ignores the close frame and keeps talking must neither keep
// the socket open nor change the cart once the agent is shutting down.
func TestCloseIgnoresMessagesAfterCloseFrame(t *testing.T) {
	f := newFixture(t, Options{})
	ws := f.dial()
	ws.SetCloseHandler(func(int, string) error { return nil }) // do not answer the close
	// Far below the 60 s read deadline that a page's messages used to renew.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- f.in.Close(ctx) }()
	if got := readClose(t, ws); got != websocket.CloseGoingAway {
		t.Fatalf("close: got %d, want %d", got, websocket.CloseGoingAway)
	}
	for i := range 20 {
		if err := ws.WriteMessage(websocket.TextMessage, []byte(cartMsg(t, "late", fmt.Sprint("L-", i)))); err != nil {
			break // the agent hung up: fine
		}
		select {
		case err := <-closed:
			closed <- err
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := f.st.Position().Seq; got != 0 {
		t.Errorf("stream seq: got %d, want 0 (nothing applied after the close frame)", got)
	}
}

func TestREST(t *testing.T) {
	const soft = 2048
	f := newFixture(t, Options{BackendToken: "be", SoftLimit: soft})
	body := func(s string) string { return s }
	validCart := func(order string) string {
		c := cart.Empty("1", "USD")
		c.Order = order
		data, _ := json.Marshal(c)
		return string(data)
	}
	tests := []struct {
		name       string
		method     string
		path       string
		auth       string
		body       string
		wantStatus int
		wantCode   string
	}{
		{"no token", http.MethodPost, "/v1/registers/1/cart", "", validCart("A"), 401, protocol.CodeUnauthorized},
		{"wrong token", http.MethodPost, "/v1/registers/1/cart", "Bearer nope", validCart("A"), 401, protocol.CodeUnauthorized},
		{"unknown register", http.MethodPost, "/v1/registers/9/cart", "Bearer be", validCart("A"), 404, protocol.CodeUnknownRegister},
		{"bad json", http.MethodPost, "/v1/registers/1/cart", "Bearer be", body("{"), 400, protocol.CodeBadJSON},
		{"wrong register", http.MethodPost, "/v1/registers/1/cart", "Bearer be", strings.Replace(validCart("A"), `"register":"1"`, `"register":"2"`, 1), 400, protocol.CodeWrongRegister},
		{"exactly the limit", http.MethodPost, "/v1/registers/1/cart", "Bearer be", padTo(t, validCart("A"), soft), 200, ""},
		{"limit + 1", http.MethodPost, "/v1/registers/1/cart", "Bearer be", padTo(t, validCart("B"), soft+1), 413, protocol.CodeTooLarge},
		{"clear", http.MethodDelete, "/v1/registers/1/cart", "bearer be", "", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, f.srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := f.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got msg
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantStatus || got.Code != tc.wantCode {
				t.Errorf("got %d %+v, want %d %q", resp.StatusCode, got, tc.wantStatus, tc.wantCode)
			}
		})
	}
	if got := f.st.Position().Seq; got != 2 {
		t.Errorf("stream seq: got %d, want 2", got)
	}
}

func TestRESTDisabledWithoutBackendToken(t *testing.T) {
	f := newFixture(t, Options{})
	req, _ := http.NewRequest(http.MethodDelete, f.srv.URL+"/v1/registers/1/cart", nil)
	req.Header.Set("Authorization", "Bearer ")
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("got %d, want %d", resp.StatusCode, http.StatusUnauthorized)
	}
}

func testLogger(t testing.TB) *slog.Logger { return testlog.New(t, slog.LevelDebug) }

// TestScanOvertakesAnAckWaitingForTheDisk: the POS socket has one writer,
// as a display's has; an ack waits for its cart's write, a scan does not
// wait behind it, and the page that reads nothing gets errPageBusy once
// maxPushes scans wait, instead of blocking the scan router.
func TestScanOvertakesAnAckWaitingForTheDisk(t *testing.T) {
	f := newFixture(t, Options{})
	f.saves.hold = make(chan error)
	f.saves.seen = make(chan struct{}, 4)
	h := newHooks(f.in)
	ws := f.dial()
	h.wait(t)
	send(t, ws, cartMsg(t, "c1", "A-1"))
	<-f.saves.seen // the cart is applied; its write is held
	if _, err := f.in.SendToPage("1", protocol.Scan{Type: protocol.TypeScan, ID: "s1"}); err != nil {
		t.Fatal(err)
	}
	if got := readMsg(t, ws); got.Type != protocol.TypeScan || string(got.ID) != `"s1"` {
		t.Fatalf("while the cart's write is held: got %+v, want scan s1 first", got)
	}
	f.saves.hold <- nil
	if got := readMsg(t, ws); got.Type != protocol.TypeAck || got.Seq != 1 {
		t.Fatalf("after the write: got %+v, want ack seq 1", got)
	}

}

// TestPushBounds: a writer that takes nothing (a page that reads nothing
// blocks it in a write) gets at most maxPushes messages queued, then
// errPageBusy; after the writer has returned, errClosing.
func TestPushBounds(t *testing.T) {
	p := &posConn{pushes: make(chan any, maxPushes), writerDone: make(chan struct{})}
	for i := range maxPushes {
		if err := p.push(i); err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
	}
	if err := p.push("one more"); !errors.Is(err, errPageBusy) {
		t.Fatalf("full queue: got %v, want errPageBusy", err)
	}
	close(p.writerDone)
	<-p.pushes
	if err := p.push("after the end"); !errors.Is(err, errClosing) {
		t.Fatalf("writer gone: got %v, want errClosing", err)
	}
}
