package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/metrics"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/stream"
	"github.com/posdisplay/posdisplay/register/testlog"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// tokens is a hand-written Authorizer: token → display id.
type tokens map[string]string

func (ts tokens) Authorize(token, register string) (string, error) {
	if id, ok := ts[token]; ok {
		return id, nil
	}
	return "", ErrUnauthorized
}

// gate is a listener whose accepted connections block in Write while the
// gate is shut: a display that has stopped reading, without relying on
// kernel buffer sizes.
type gate struct {
	net.Listener
	mu      sync.Mutex
	open    chan struct{} // closed while the gate is open
	blocked chan struct{} // signalled when a Write waits at the shut gate
	// deadlines receives every non-zero read deadline set on an accepted
	// connection (dropped when full): the hub sets the hello deadline
	// right after it registers the connection.
	deadlines chan time.Time
}

func newGate(ln net.Listener) *gate {
	g := &gate{Listener: ln, open: make(chan struct{}), blocked: make(chan struct{}, 1), deadlines: make(chan time.Time, 16)}
	close(g.open)
	return g
}

func (g *gate) Accept() (net.Conn, error) {
	c, err := g.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &gatedConn{Conn: c, g: g, closed: make(chan struct{})}, nil
}

func (g *gate) shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = make(chan struct{})
}

func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.open)
}

type gatedConn struct {
	net.Conn
	g         *gate
	closeOnce sync.Once
	closed    chan struct{}
}

func (c *gatedConn) Write(p []byte) (int, error) {
	c.g.mu.Lock()
	open := c.g.open
	c.g.mu.Unlock()
	select {
	case <-open:
	default:
		select {
		case c.g.blocked <- struct{}{}:
		default:
		}
		select {
		case <-open:
		case <-c.closed:
			return 0, net.ErrClosed
		}
	}
	return c.Conn.Write(p)
}

func (c *gatedConn) SetReadDeadline(t time.Time) error {
	if !t.IsZero() {
		select {
		case c.g.deadlines <- t:
		default:
		}
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *gatedConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

type fixture struct {
	t       *testing.T
	hub     *Hub
	st      *stream.Stream
	metrics *metrics.Metrics
	srv     *httptest.Server
	gate    *gate
	url     string
	n       int // messages published so far
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	st := stream.New("1", "ep1", cart.Empty("1", "USD"), 256)
	m := metrics.New()
	h := New(map[string]*stream.Stream{"1": st}, tokens{"tok-a": "disp-a", "tok-b": "disp-b"}, m, testLogger(t), opts)
	srv := httptest.NewUnstartedServer(h)
	g := newGate(srv.Listener)
	srv.Listener = g
	srv.Start()
	f := &fixture{t: t, hub: h, st: st, metrics: m, srv: srv, gate: g, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
	t.Cleanup(func() {
		if err := h.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
		srv.Close()
	})
	return f
}

// publish makes a change and returns its seq.
func (f *fixture) publish() uint64 {
	f.t.Helper()
	f.n++
	return publishChange(f.t, f.st, f.n)
}

// publishChange publishes the n-th change of a test to st (a cart whose
// message names n) and returns its seq.
func publishChange(t *testing.T, st *stream.Stream, n int) uint64 {
	t.Helper()
	c := cart.Empty("1", "USD")
	c.State = cart.StateOpen
	c.Message = fmt.Sprintf("change %d", n)
	res, err := st.Publish(c, time.Now())
	if err != nil || !res.Changed {
		t.Fatalf("Publish: got %+v, %v; want a change", res, err)
	}
	return res.Seq
}

// frame is the part of every agent → display message the tests look at.
type frame struct {
	Type  string `json:"type"`
	Epoch string `json:"epoch"`
	Seq   uint64 `json:"seq"`
	Code  string `json:"code"`
	Cue   string `json:"cue"`
}

func (f *fixture) dial(token string, resume *protocol.Position) *websocket.Conn {
	f.t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(f.url, nil)
	if err != nil {
		f.t.Fatalf("dial: %v", err)
	}
	f.t.Cleanup(func() { ws.Close() })
	hello, _ := json.Marshal(protocol.Hello{Type: protocol.TypeHello, Register: "1", Token: token, Resume: resume})
	if err := ws.WriteMessage(websocket.TextMessage, hello); err != nil {
		f.t.Fatalf("write hello: %v", err)
	}
	if got := read(f.t, ws); got.Type != protocol.TypeWelcome {
		f.t.Fatalf("first message: got %+v, want a welcome", got)
	}
	return ws
}

// read returns the next message other than a heartbeat (liveness_test.go
// checks those).
func read(t *testing.T, ws *websocket.Conn) frame {
	t.Helper()
	for {
		fr := readAny(t, ws)
		if fr.Type != protocol.TypeHeartbeat {
			return fr
		}
	}
}

func readAny(t *testing.T, ws *websocket.Conn) frame {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var fr frame
	if err := json.Unmarshal(data, &fr); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return fr
}

// readClose reads until the agent closes and returns the close code and text.
func readClose(t *testing.T, ws *websocket.Conn) (int, string) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text
		}
		if err != nil {
			t.Fatalf("read: got %v, want a close frame", err)
		}
	}
}

func TestOverflowSendsOneSnapshotThenContiguousDeltas(t *testing.T) {
	f := newFixture(t, Options{QueueFrames: 2})
	ws := f.dial("tok-a", nil)
	if got := read(t, ws); got.Type != protocol.TypeSnapshot || got.Seq != 0 {
		t.Fatalf("catch-up: got %+v, want snapshot at 0", got)
	}

	f.gate.shut()
	first := f.publish()
	<-f.gate.blocked // the writer holds delta 1 and cannot write it
	var last uint64
	for range 10 { // 2 fit in the queue, the rest overflow
		last = f.publish()
	}
	f.gate.release()

	check := func(want []frame) {
		t.Helper()
		for i, w := range want {
			got := read(t, ws)
			if got.Type != w.Type || got.Seq != w.Seq || got.Epoch != "ep1" {
				t.Fatalf("frame %d: got %s at %d (epoch %q), want %s at %d", i, got.Type, got.Seq, got.Epoch, w.Type, w.Seq)
			}
		}
	}
	check([]frame{{Type: protocol.TypeDelta, Seq: first}, {Type: protocol.TypeSnapshot, Seq: last}})
	for range 5 { // one at a time: a queue of 2 overflows easily
		check([]frame{{Type: protocol.TypeDelta, Seq: f.publish()}})
	}
	if got := testutil.ToFloat64(f.metrics.Resyncs.WithLabelValues("slow")); got != 1 {
		t.Errorf("slow resyncs: got %v, want 1", got)
	}
}

func TestCueDoesNotBreakSeqTracking(t *testing.T) {
	f := newFixture(t, Options{})
	ws := f.dial("tok-a", nil)
	read(t, ws) // snapshot at 0
	s1 := f.publish()
	if err := f.st.Cue(protocol.CueScanning); err != nil {
		t.Fatal(err)
	}
	s2 := f.publish()
	if err := f.st.Cue(protocol.CueScanning); err != nil {
		t.Fatal(err)
	}
	s3 := f.publish()
	want := []frame{
		{Type: protocol.TypeDelta, Seq: s1},
		{Type: protocol.TypeCue, Cue: protocol.CueScanning},
		{Type: protocol.TypeDelta, Seq: s2},
		{Type: protocol.TypeCue, Cue: protocol.CueScanning},
		{Type: protocol.TypeDelta, Seq: s3},
	}
	for i, w := range want {
		got := read(t, ws)
		if got.Type != w.Type || got.Seq != w.Seq || got.Cue != w.Cue {
			t.Fatalf("frame %d: got %+v, want %+v", i, got, w)
		}
	}
	for _, reason := range []string{"slow", "gap", "requested"} {
		if got := testutil.ToFloat64(f.metrics.Resyncs.WithLabelValues(reason)); got != 0 {
			t.Errorf("%s resyncs: got %v, want 0", reason, got)
		}
	}
}

func TestResyncRequestSendsSnapshot(t *testing.T) {
	f := newFixture(t, Options{})
	ws := f.dial("tok-a", nil)
	read(t, ws)
	s1 := f.publish()
	if got := read(t, ws); got.Type != protocol.TypeDelta || got.Seq != s1 {
		t.Fatalf("got %+v, want delta %d", got, s1)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"resync"}`)); err != nil {
		t.Fatal(err)
	}
	if got := read(t, ws); got.Type != protocol.TypeSnapshot || got.Seq != s1 {
		t.Fatalf("after resync: got %+v, want snapshot at %d", got, s1)
	}
	s2 := f.publish()
	if got := read(t, ws); got.Type != protocol.TypeDelta || got.Seq != s2 {
		t.Fatalf("after snapshot: got %+v, want delta %d", got, s2)
	}
}

func TestResumeReplaysHistory(t *testing.T) {
	f := newFixture(t, Options{})
	s1, s2, s3 := f.publish(), f.publish(), f.publish()
	ws := f.dial("tok-a", &protocol.Position{Epoch: "ep1", Seq: s1})
	want := []frame{{Type: protocol.TypeResumed, Seq: s1}, {Type: protocol.TypeDelta, Seq: s2}, {Type: protocol.TypeDelta, Seq: s3}}
	for i, w := range want {
		if got := read(t, ws); got.Type != w.Type || got.Seq != w.Seq {
			t.Fatalf("frame %d: got %+v, want %+v", i, got, w)
		}
	}
}

func TestHelloRejected(t *testing.T) {
	f := newFixture(t, Options{})
	tests := []struct {
		name     string
		hello    string
		wantCode string
	}{
		{"wrong token", `{"type":"hello","register":"1","token":"nope"}`, protocol.CodeUnauthorized},
		{"no token", `{"type":"hello","register":"1"}`, protocol.CodeUnauthorized},
		{"unknown register", `{"type":"hello","register":"9","token":"tok-a"}`, protocol.CodeUnknownRegister},
		{"resync first", `{"type":"resync"}`, protocol.CodeBadHello},
		{"not json", `hello`, protocol.CodeBadJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws, _, err := websocket.DefaultDialer.Dial(f.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ws.Close()
			if err := ws.WriteMessage(websocket.TextMessage, []byte(tc.hello)); err != nil {
				t.Fatal(err)
			}
			got := read(t, ws)
			if got.Type != protocol.TypeError || got.Code != tc.wantCode {
				t.Fatalf("got %+v, want error %s", got, tc.wantCode)
			}
			if code, text := readClose(t, ws); code != websocket.ClosePolicyViolation || text != tc.wantCode {
				t.Errorf("close: got %d %q, want %d %q", code, text, websocket.ClosePolicyViolation, tc.wantCode)
			}
		})
	}
}

func TestRevokeClosesOnlyThatDisplay(t *testing.T) {
	f := newFixture(t, Options{})
	a := f.dial("tok-a", nil)
	b := f.dial("tok-b", nil)
	read(t, a)
	read(t, b)
	if got := f.hub.Revoke("disp-a"); got != 1 {
		t.Fatalf("Revoke: got %d, want 1", got)
	}
	if code, text := readClose(t, a); code != websocket.ClosePolicyViolation || text != protocol.CodeUnauthorized {
		t.Errorf("revoked display: got close %d %q, want %d %q", code, text, websocket.ClosePolicyViolation, protocol.CodeUnauthorized)
	}
	s := f.publish()
	if got := read(t, b); got.Type != protocol.TypeDelta || got.Seq != s {
		t.Errorf("other display: got %+v, want delta %d", got, s)
	}
	if got := f.hub.Revoke("nobody"); got != 0 {
		t.Errorf("Revoke(nobody): got %d, want 0", got)
	}
}

func TestCloseSendsGoingAwayAndWaits(t *testing.T) {
	f := newFixture(t, Options{})
	ws := f.dial("tok-a", nil)
	read(t, ws)
	closed := make(chan error, 1)
	go func() { closed <- f.hub.Close(context.Background()) }()
	if code, _ := readClose(t, ws); code != websocket.CloseGoingAway {
		t.Errorf("close code: got %d, want %d", code, websocket.CloseGoingAway)
	}
	ws.Close()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := f.hub.Count(); got != 0 {
		t.Errorf("Count after Close: got %d, want 0", got)
	}
	if got := f.st.Subscribers(); got != 0 {
		t.Errorf("subscribers after Close: got %d, want 0", got)
	}
	if err := f.hub.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// A display arriving after Close is turned away with 1001.
	late, _, err := websocket.DefaultDialer.Dial(f.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	if code, _ := readClose(t, late); code != websocket.CloseGoingAway {
		t.Errorf("late display: got close %d, want %d", code, websocket.CloseGoingAway)
	}
}

// A display that connected but has not said hello yet must not hold up
// Close until its hello deadline.
func TestCloseDoesNotWaitForHello(t *testing.T) {
	f := newFixture(t, Options{HelloWait: time.Hour})
	ws, _, err := websocket.DefaultDialer.Dial(f.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	// ServeHTTP registers the conn, then sets its hello deadline (an hour
	// away, unlike any deadline net/http sets).
	for registered := false; !registered; {
		select {
		case d := <-f.gate.deadlines:
			registered = time.Until(d) > 30*time.Minute
		case <-time.After(20 * time.Second):
			t.Fatal("the hub never set the hello deadline")
		}
	}
	if n := f.hub.Count(); n != 1 {
		t.Fatalf("Count: got %d, want 1", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- f.hub.Close(ctx) }()
	if code, _ := readClose(t, ws); code != websocket.CloseGoingAway {
		t.Errorf("close code: got %d, want %d", code, websocket.CloseGoingAway)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: got %v, want nil (it waited for the hello deadline)", err)
	}
}

func TestSameOriginOrNone(t *testing.T) {
	tests := []struct {
		origin, host string
		want         bool
	}{
		{"", "agent:7422", true},
		{"http://agent:7422", "agent:7422", true},
		{"https://agent:7422", "agent:7422", true},
		{"https://evil.example", "agent:7422", false},
		{"http://agent:7423", "agent:7422", false},
		{"null", "agent:7422", false},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(http.MethodGet, "/v1/display", nil)
		r.Host = tc.host
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if got := sameOriginOrNone(r); got != tc.want {
			t.Errorf("origin %q host %q: got %v, want %v", tc.origin, tc.host, got, tc.want)
		}
	}
}

// A display that ignores the close frame and keeps sending must not hold
// Close until its pong deadline.
func TestCloseDoesNotWaitForChattyDisplay(t *testing.T) {
	f := newFixture(t, Options{})
	ws := f.dial("tok-a", nil)
	read(t, ws)
	ws.SetCloseHandler(func(int, string) error { return nil }) // never answer the close
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- f.hub.Close(ctx) }()
	if code, _ := readClose(t, ws); code != websocket.CloseGoingAway {
		t.Fatalf("close code: got %d, want %d", code, websocket.CloseGoingAway)
	}
	var err error
	for running := true; running; {
		if werr := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"resync"}`)); werr != nil {
			err = <-closed
			break
		}
		select {
		case err = <-closed:
			running = false
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err != nil {
		t.Fatalf("Close: got %v, want nil (the display's messages kept pushing the read deadline out)", err)
	}
}

// revokingAuth authorizes once, then revokes the display (forgets the token
// and calls Revoke) before Authorize returns: the revocation races the
// hello, as when store IT revokes a display that is just reconnecting.
type revokingAuth struct {
	hub     *Hub
	mu      sync.Mutex
	revoked bool
}

func (a *revokingAuth) Authorize(token, register string) (string, error) {
	a.mu.Lock()
	if a.revoked {
		a.mu.Unlock()
		return "", ErrUnauthorized
	}
	a.revoked = true
	a.mu.Unlock()
	a.hub.Revoke("disp-a")
	return "disp-a", nil
}

func TestRevocationDuringHelloIsNotMissed(t *testing.T) {
	st := stream.New("1", "ep1", cart.Empty("1", "USD"), 16)
	auth := &revokingAuth{}
	h := New(map[string]*stream.Stream{"1": st}, auth, metrics.New(), testLogger(t), Options{})
	auth.hub = h
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close(context.Background())
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","register":"1","token":"tok-a"}`)); err != nil {
		t.Fatal(err)
	}
	got := read(t, ws)
	if got.Type != protocol.TypeError || got.Code != protocol.CodeUnauthorized {
		t.Fatalf("got %+v, want error %s", got, protocol.CodeUnauthorized)
	}
	if code, _ := readClose(t, ws); code != websocket.ClosePolicyViolation {
		t.Errorf("close: got %d, want %d", code, websocket.ClosePolicyViolation)
	}
}

func TestOptionsDefaults(t *testing.T) {
	tests := []struct {
		name         string
		in           Options
		wantPing     time.Duration
		wantPongWait time.Duration
		wantQueue    int
	}{
		{"zero", Options{}, 20 * time.Second, 60 * time.Second, 128},
		{"short ping", Options{PingInterval: 5 * time.Second}, 5 * time.Second, 60 * time.Second, 128},
		{"ping above the pong wait", Options{PingInterval: 2 * time.Minute}, 2 * time.Minute, 6 * time.Minute, 128},
		{"explicit", Options{PingInterval: time.Second, PongWait: 2 * time.Second, QueueFrames: 8}, time.Second, 2 * time.Second, 8},
	}
	for _, tc := range tests {
		o := tc.in
		o.defaults()
		if o.PingInterval != tc.wantPing || o.PongWait != tc.wantPongWait || o.QueueFrames != tc.wantQueue {
			t.Errorf("%s: got ping %v, pong wait %v, queue %d; want %v, %v, %d", tc.name, o.PingInterval, o.PongWait, o.QueueFrames, tc.wantPing, tc.wantPongWait, tc.wantQueue)
		}
	}
}

// TestSilentSocketsAreCapped: sockets that never say hello are limited per
// address, loopback included, so one device on the store network cannot pin
// unbounded goroutines and buffers; one more is refused before the
// upgrade; a display that says hello frees its place.
func TestSilentSocketsAreCapped(t *testing.T) {
	f := newFixture(t, Options{})
	var silent []*websocket.Conn
	for i := 0; i < maxPendingPerAddr; i++ {
		ws, _, err := websocket.DefaultDialer.Dial(f.url, nil)
		if err != nil {
			t.Fatalf("silent socket %d: %v", i, err)
		}
		defer ws.Close()
		silent = append(silent, ws)
	}
	// The hub counts a socket before its upgrade: all are counted now.
	if got := f.pending(); got != maxPendingPerAddr {
		t.Fatalf("pending sockets: got %d, want %d", got, maxPendingPerAddr)
	}
	f.wantRefused(nil, http.StatusServiceUnavailable, protocol.CodeBusy)
	// One silent socket says hello: it is served, and frees a place.
	hello, _ := json.Marshal(protocol.Hello{Type: protocol.TypeHello, Register: "1", Token: "tok-a"})
	if err := silent[0].WriteMessage(websocket.TextMessage, hello); err != nil {
		t.Fatal(err)
	}
	if got := read(t, silent[0]); got.Type != protocol.TypeWelcome {
		t.Fatalf("got %+v, want welcome", got)
	}
	if got := f.pending(); got != maxPendingPerAddr-1 {
		t.Fatalf("pending sockets after a hello: got %d, want %d", got, maxPendingPerAddr-1)
	}
	f.dial("tok-b", nil)
}

// TestDisconnectLetsTheDisplayResume: a plain Disconnect (not a revocation)
// closes with 1001, and the display may come back and resume.
func TestDisconnectLetsTheDisplayResume(t *testing.T) {
	f := newFixture(t, Options{})
	a := f.dial("tok-a", nil)
	snap := read(t, a)
	if got := f.hub.Disconnect("disp-a"); got != 1 {
		t.Fatalf("Disconnect: got %d, want 1", got)
	}
	if code, _ := readClose(t, a); code != websocket.CloseGoingAway {
		t.Fatalf("got close %d, want 1001", code)
	}
	seq := f.publish()
	b := f.dial("tok-a", &protocol.Position{Epoch: snap.Epoch, Seq: snap.Seq})
	if got := read(t, b); got.Type != protocol.TypeResumed {
		t.Fatalf("after Disconnect: got %+v, want resumed", got)
	}
	if got := read(t, b); got.Type != protocol.TypeDelta || got.Seq != seq {
		t.Fatalf("got %+v, want delta %d", got, seq)
	}
}

func testLogger(t testing.TB) *slog.Logger { return testlog.New(t, slog.LevelDebug) }

// The writer pings on its timer, between frames, and keeps streaming after.
func TestPingsKeepComing(t *testing.T) {
	f := newFixture(t, Options{PingInterval: 20 * time.Millisecond})
	ws := f.dial("tok-a", nil)
	pings := make(chan struct{}, 16)
	ws.SetPingHandler(func(string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return ws.WriteControl(websocket.PongMessage, nil, time.Now().Add(time.Second))
	})
	read(t, ws) // the snapshot
	// Control frames are handled inside reads: keep one going.
	frames := make(chan frame, 16)
	go func() {
		defer close(frames)
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var fr frame
			if err := json.Unmarshal(data, &fr); err != nil {
				return
			}
			if fr.Type != protocol.TypeHeartbeat {
				frames <- fr
			}
		}
	}()
	for i := 0; i < 3; i++ {
		select {
		case <-pings:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d pings in 10 s, want 3", i)
		}
	}
	s := f.publish()
	select {
	case m := <-frames:
		if m.Type != protocol.TypeDelta || m.Seq != s {
			t.Fatalf("after pings: got %+v, want delta %d", m, s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delta after the pings")
	}
	ws.Close()
	for range frames {
	}
}
