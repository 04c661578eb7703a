package client_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/display/client/clienttest"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/clock/clocktest"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/testlog"
	"github.com/posdisplay/posdisplay/register/tlsid"
)

const reg = "lane-1"

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitLimit only stops a broken test from hanging; nothing asserts speed.
const waitLimit = 10 * time.Second

// running is a Client under test with its Run goroutine.
type running struct {
	*client.Client
	t      *testing.T
	cancel context.CancelFunc
	done   chan error
}

// start runs a client against url until the test ends. It checks for leaked
// goroutines after everything else has been cleaned up.
func start(t *testing.T, url string, edit func(*client.Options)) *running {
	t.Helper()
	opts := client.Options{
		Register:        reg,
		Token:           "secret-token",
		Source:          client.Static{URL: url},
		Logger:          testLogger(t),
		MinBackoff:      time.Millisecond,
		MaxBackoff:      20 * time.Millisecond,
		RejectedBackoff: 50 * time.Millisecond,
	}
	if edit != nil {
		edit(&opts)
	}
	c, err := client.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Client: c, t: t, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- c.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

// stop cancels Run and waits for it; safe to call twice.
func (r *running) stop() {
	r.cancel()
	if err, ok := <-r.done; ok {
		close(r.done)
		if !errors.Is(err, context.Canceled) {
			r.t.Errorf("Run: got %v, want context.Canceled", err)
		}
	}
}

// waitView reads Views until ok accepts one.
func waitView(t *testing.T, c *running, what string, ok func(client.View) bool) client.View {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		select {
		case v := <-c.Views():
			if ok(v) {
				return v
			}
		case <-timeout:
			t.Fatalf("no View with %s; last: %+v", what, c.View())
		}
	}
}

func liveAt(seq uint64, want cart.Cart) func(client.View) bool {
	return func(v client.View) bool {
		return v.Status == client.StatusLive && v.Position.Seq == seq && cart.Equal(v.Cart, want)
	}
}

// noLeaks checks, after every other cleanup of the test, that no goroutine
// is left behind. Call it first.
func noLeaks(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

func accept(t *testing.T, s *clienttest.Server) *clienttest.Conn {
	t.Helper()
	c, err := s.Accept(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// nextType waits for the display to send a message of type typ.
func nextType(t *testing.T, c *clienttest.Conn, typ string) {
	t.Helper()
	for {
		m, err := c.Next(ctxT(t))
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		if m.Type == typ {
			return
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func pos(e string, s uint64) protocol.Position { return protocol.Position{Epoch: e, Seq: s} }

// serveSnapshot welcomes c and sends k at p.
func serveSnapshot(t *testing.T, c *clienttest.Conn, p protocol.Position, k cart.Cart) {
	t.Helper()
	must(t, c.Welcome(p))
	must(t, c.Snapshot(p, k))
}

// basket is a sale that uses every delta op kind on its way.
func basket() []cart.Cart {
	var out []cart.Cart
	c := clienttest.Cart(reg, 0)
	step := func(f func(*cart.Cart)) {
		c = c.Clone()
		f(&c)
		c = clienttest.Totalled(c)
		out = append(out, c)
	}
	step(func(c *cart.Cart) {
		c.State = cart.StateOpen
		c.Lines = append(c.Lines, clienttest.Line("a", "Apples", 1, 250))
	})
	step(func(c *cart.Cart) { c.Lines = append(c.Lines, clienttest.Line("b", "Bread", 1, 399)) })
	step(func(c *cart.Cart) { c.Lines[0] = clienttest.Line("a", "Apples", 3, 250) })
	step(func(c *cart.Cart) { c.Lines = append(c.Lines, clienttest.Line("m", "Milk", 2, 129)) })
	step(func(c *cart.Cart) { c.Lines = []cart.Line{c.Lines[2], c.Lines[0], c.Lines[1]} })
	step(func(c *cart.Cart) { c.Lines = slices.Delete(c.Lines, 2, 3) })
	step(func(c *cart.Cart) {
		c.Discount = 50
		c.Taxes = []cart.TaxLine{{Label: "VAT 7%", Amount: 70, Included: true}}
	})
	step(func(c *cart.Cart) {
		c.State = cart.StatePayment
		c.Payment = &cart.Payment{Due: c.Total, Tendered: 2000, Change: 2000 - c.Total, Method: "cash"}
	})
	return out
}

func TestSnapshotThenEveryOp(t *testing.T) {
	noLeaks(t)
	srv := clienttest.NewServer(t)
	c := start(t, srv.URL, nil)
	conn := accept(t, srv)
	if conn.Hello.Register != reg || conn.Hello.Token != "secret-token" || conn.Hello.Resume != nil {
		t.Fatalf("hello: got %+v, want register %s, the token, no resume", conn.Hello, reg)
	}
	// The token is in the upgrade request too, so that the agent checks it
	// before upgrading and never counts the display as a silent socket.
	if conn.Upgrade.Register != reg || conn.Upgrade.Token != "secret-token" {
		t.Fatalf("upgrade request presented %+v, want register %s and the token", conn.Upgrade, reg)
	}
	prev := clienttest.Cart(reg, 0)
	serveSnapshot(t, conn, pos("e1", 10), prev)
	waitView(t, c, "the snapshot", liveAt(10, prev))

	kinds := map[cart.OpKind]bool{}
	for i, next := range basket() {
		seq := uint64(11 + i)
		ops := cart.Diff(prev, next)
		var wantChanged []string
		for _, op := range ops {
			kinds[op.Op] = true
			if op.Op == cart.OpAdd || op.Op == cart.OpUpdate {
				wantChanged = append(wantChanged, op.Line.ID)
			}
		}
		must(t, conn.Delta(pos("e1", seq), ops))
		v := waitView(t, c, "the delta", liveAt(seq, next))
		if !slices.Equal(v.Changed, wantChanged) {
			t.Errorf("seq %d: Changed: got %q, want %q", seq, v.Changed, wantChanged)
		}
		if err := v.Cart.Validate(); err != nil {
			t.Errorf("seq %d: View holds an invalid cart: %v", seq, err)
		}
		prev = next
	}
	for _, k := range []cart.OpKind{cart.OpAdd, cart.OpUpdate, cart.OpRemove, cart.OpMove, cart.OpTotals, cart.OpHeader} {
		if !kinds[k] {
			t.Errorf("the basket never used op %s", k)
		}
	}
}

// Options.Clock stamps what a View says about time: the status change to
// live and the snapshot's receive time (a fake clock that never moves
// stamps both with its one instant).
func TestClockStampsViews(t *testing.T) {
	noLeaks(t)
	t0 := time.Date(2026, 11, 22, 14, 30, 0, 0, time.UTC)
	clk := clocktest.New(t0)
	srv := clienttest.NewServer(t)
	c := start(t, srv.URL, func(o *client.Options) { o.Clock = clk.Now })
	if v := c.View(); !v.Since.Equal(t0) {
		t.Errorf("first View: Since %v, want %v", v.Since, t0)
	}
	conn := accept(t, srv)
	clk.Advance(time.Minute)
	serveSnapshot(t, conn, pos("e1", 10), clienttest.Cart(reg, 0))
	v := waitView(t, c, "the snapshot", liveAt(10, clienttest.Cart(reg, 0)))
	if want := t0.Add(time.Minute); !v.Since.Equal(want) {
		t.Errorf("live View: Since %v, want %v", v.Since, want)
	}
}

func TestGapAsksForSnapshot(t *testing.T) {
	noLeaks(t)
	srv := clienttest.NewServer(t)
	c := start(t, srv.URL, nil)
	conn := accept(t, srv)
	steps := basket()
	serveSnapshot(t, conn, pos("e1", 1), steps[0])
	waitView(t, c, "the snapshot", liveAt(1, steps[0]))

	must(t, conn.Delta(pos("e1", 3), cart.Diff(steps[1], steps[2]))) // seq 2 lost
	nextType(t, conn, protocol.TypeResync)
	v := c.View()
	if v.Status != client.StatusReconnecting || !v.Stale() || !cart.Equal(v.Cart, steps[0]) {
		t.Errorf("after a gap: got status %s cart %+v, want reconnecting with the last good cart", v.Status, v.Cart)
	}
	must(t, conn.Delta(pos("e1", 4), cart.Diff(steps[2], steps[3]))) // ignored until the snapshot
	must(t, conn.Snapshot(pos("e1", 4), steps[3]))
	waitView(t, c, "the resync snapshot", liveAt(4, steps[3]))
}

func TestEpochChange(t *testing.T) {
	noLeaks(t)
	srv := clienttest.NewServer(t)
	c := start(t, srv.URL, nil)
	conn := accept(t, srv)
	steps := basket()
	serveSnapshot(t, conn, pos("e1", 5), steps[0])
	waitView(t, c, "the snapshot", liveAt(5, steps[0]))

	// Live: a delta from a new epoch (agent restarted behind a proxy).
	must(t, conn.Delta(pos("e2", 6), cart.Diff(steps[0], steps[1])))
	nextType(t, conn, protocol.TypeResync)
	must(t, conn.Snapshot(pos("e2", 1), steps[1]))
	waitView(t, c, "the new epoch", liveAt(1, steps[1]))

	// Reconnect: the display resumes from e2/1, the agent restarted as e3.
	conn.Drop()
	conn = accept(t, srv)
	if got, want := conn.Hello.Resume, pos("e2", 1); got == nil || *got != want {
		t.Fatalf("resume: got %+v, want %+v", got, want)
	}
	serveSnapshot(t, conn, pos("e3", 0), steps[2])
	v := waitView(t, c, "the restarted agent's snapshot", liveAt(0, steps[2]))
	if v.Position.Epoch != "e3" {
		t.Errorf("epoch: got %q, want e3", v.Position.Epoch)
	}
}

func TestDuplicateAndOldDeltasIgnored(t *testing.T) {
	noLeaks(t)
	srv := clienttest.NewServer(t)
	c := start(t, srv.URL, nil)
	conn := accept(t, srv)
	steps := basket()
	serveSnapshot(t, conn, pos("e1", 1), steps[0])
	must(t, conn.Delta(pos("e1", 2), cart.Diff(steps[0], steps[1])))
	waitView(t, c, "seq 2", liveAt(2, steps[1]))
	must(t, conn.Delta(pos("e1", 2), cart.Diff(steps[0], steps[1]))) // duplicate
	must(t, conn.Delta(pos("e1", 1), cart.Diff(steps[0], steps[1]))) // old
	must(t, conn.Delta(pos("e1", 3), cart.Diff(steps[1], steps[2])))
	// Had the duplicates broken the stream, seq 3 would wait for a snapshot.
	waitView(t, c, "seq 3", liveAt(3, steps[2]))
}

func TestHostileDeltaKeepsLastGoodCart(t *testing.T) {
	noLeaks(t)
	steps := basket()
	badLine := func(f func(*cart.Line)) string {
		l := steps[0].Lines[0]
		f(&l)
		return string(mustMarshal(t, []cart.Op{{Op: cart.OpUpdate, Index: 0, Line: &l}}))
	}
	tests := []struct {
		name      string
		ops       string
		reconnect bool // the client drops the socket instead of asking for a resync
	}{
		{"bad index", `[{"op":"remove","index":7,"id":"a"}]`, false},
		{"unknown op", `[{"op":"format_disk"}]`, false},
		{"negative quantity", badLine(func(l *cart.Line) { l.Quantity = -3000 }), false},
		{"long title", badLine(func(l *cart.Line) { l.Title = strings.Repeat("€", 5000) }), false},
		{"10 MB string", badLine(func(l *cart.Line) { l.Title = strings.Repeat("A", 10<<20) }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeaks(t)
			srv := clienttest.NewServer(t)
			c := start(t, srv.URL, nil)
			conn := accept(t, srv)
			serveSnapshot(t, conn, pos("e1", 1), steps[0])
			waitView(t, c, "the snapshot", liveAt(1, steps[0]))

			err := conn.SendRaw([]byte(`{"type":"delta","epoch":"e1","seq":2,"ops":` + tt.ops + `}`))
			if !tt.reconnect {
				must(t, err) // the client may hang up in the middle of a 10 MB message
			}
			if tt.reconnect {
				<-conn.Done()
				var ce *websocket.CloseError
				if err := conn.Err(); !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
					t.Errorf("close: got %v, want close 1009 (message too big)", err)
				}
				conn = accept(t, srv)
				if conn.Hello.Resume != nil {
					t.Errorf("resume after an oversized message: got %+v, want a fresh snapshot", conn.Hello.Resume)
				}
			} else {
				nextType(t, conn, protocol.TypeResync)
			}
			v := c.View()
			if !v.Stale() || !cart.Equal(v.Cart, steps[0]) || v.Position.Seq != 1 {
				t.Errorf("after a hostile delta: got status %s seq %d cart %+v, want stale at seq 1 with the last good cart", v.Status, v.Position.Seq, v.Cart)
			}
			if tt.reconnect {
				must(t, conn.Welcome(pos("e1", 2)))
			}
			must(t, conn.Snapshot(pos("e1", 2), steps[1]))
			waitView(t, c, "the snapshot after the bad delta", liveAt(2, steps[1]))
		})
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDisconnectShowsReconnectingAndResumes(t *testing.T) {
	noLeaks(t)
	srv := clienttest.NewServer(t)
	c := start(t, srv.URL, nil)
	conn := accept(t, srv)
	steps := basket()
	serveSnapshot(t, conn, pos("e1", 1), steps[0])
	must(t, conn.Delta(pos("e1", 2), cart.Diff(steps[0], steps[1])))
	must(t, conn.Delta(pos("e1", 3), cart.Diff(steps[1], steps[2])))
	live := waitView(t, c, "seq 3", liveAt(3, steps[2]))

	conn.Drop()
	v := waitView(t, c, "reconnecting", func(v client.View) bool { return v.Status == client.StatusReconnecting })
	if !v.HasCart || !cart.Equal(v.Cart, steps[2]) || !v.Stale() || v.Err == "" || !v.Since.After(live.Since) {
		t.Errorf("after a drop: got %+v, want the last cart, stale, a reason and a new Since", v)
	}
	conn = accept(t, srv)
	if got, want := conn.Hello.Resume, pos("e1", 3); got == nil || *got != want {
		t.Fatalf("resume: got %+v, want %+v", got, want)
	}
	must(t, conn.Welcome(pos("e1", 4)))
	must(t, conn.Resumed(pos("e1", 3)))
	must(t, conn.Delta(pos("e1", 4), cart.Diff(steps[2], steps[3])))
	waitView(t, c, "resumed seq 4", liveAt(4, steps[3]))
}

func TestSilentAgentGoesStale(t *testing.T) {
	noLeaks(t)
	srv := clienttest.NewServer(t)
	srv.IgnorePings(true)
	c := start(t, srv.URL, func(o *client.Options) {
		// The read timeout is 20 ping intervals: a loaded machine (load
		// 30 on 2 cores) delayed one pong past a 300 ms timeout.
		o.ReadTimeout = time.Second
		o.PingInterval = 50 * time.Millisecond
	})
	conn := accept(t, srv)
	k := clienttest.Cart(reg, 2)
	serveSnapshot(t, conn, pos("e1", 1), k)
	waitView(t, c, "live", liveAt(1, k))
	v := waitView(t, c, "reconnecting", func(v client.View) bool { return v.Status == client.StatusReconnecting })
	if !strings.Contains(v.Err, "timeout") {
		t.Errorf("Err: got %q, want a read timeout", v.Err)
	}
	<-conn.Done()
	accept(t, srv) // and it tries again
}

// idleReadTimeout and idlePingInterval are the liveness settings of the
// tests that keep a quiet stream live on pongs. The gap between them is the
// longest stall of the test process they survive: 250 ms (300/50) was not
// enough under -race at a load average of 20-40 on 2 cores.
const (
	idleReadTimeout  = time.Second
	idlePingInterval = 50 * time.Millisecond
)

func TestPingsKeepStreamLive(t *testing.T) {
	noLeaks(t)
	srv := clienttest.NewServer(t)
	c := start(t, srv.URL, func(o *client.Options) {
		o.ReadTimeout = idleReadTimeout
		o.PingInterval = idlePingInterval
	})
	conn := accept(t, srv)
	k := clienttest.Cart(reg, 1)
	serveSnapshot(t, conn, pos("e1", 1), k)
	waitView(t, c, "live", liveAt(1, k))
	// Read timeouts pass with no message, only pongs: the client's own
	// ticker sends pings 50 ms apart, so 50 of them span 2.5 read timeouts.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	must(t, conn.WaitPings(ctx, 50))
	must(t, conn.Send(protocol.Cue{Type: protocol.TypeCue, Register: reg, Cue: protocol.CueScanning}))
	waitView(t, c, "the cue", func(v client.View) bool { return v.Cue == protocol.CueScanning })
	select {
	case <-conn.Done():
		t.Fatalf("connection ended: %v", conn.Err())
	default:
	}
	if v := c.View(); v.Status != client.StatusLive {
		t.Errorf("status: got %s (%s), want live", v.Status, v.Err)
	}
}

func TestRejected(t *testing.T) {
	noLeaks(t)
	tests := []struct {
		code     string
		wantStat client.Status
	}{
		{protocol.CodeUnauthorized, client.StatusRejected},
		{protocol.CodeUnknownRegister, client.StatusRejected},
		{protocol.CodeBadHello, client.StatusRejected},
		{protocol.CodeShuttingDown, client.StatusConnecting},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			noLeaks(t)
			srv := clienttest.NewServer(t)
			c := start(t, srv.URL, nil)
			conn := accept(t, srv)
			must(t, conn.Reject(tt.code, "go away\x1b[2J"))
			v := waitView(t, c, string(tt.wantStat), func(v client.View) bool { return v.Status == tt.wantStat && v.Err != "" })
			if !strings.Contains(v.Err, tt.code) || strings.Contains(v.Err, "\x1b") {
				t.Errorf("Err: got %q, want the code %s and no control characters", v.Err, tt.code)
			}
			// It keeps trying (after a longer pause when rejected), and the
			// status stays put while it does.
			conn = accept(t, srv)
			if v := c.View(); v.Status != tt.wantStat {
				t.Errorf("status during the retry: got %s, want %s", v.Status, tt.wantStat)
			}
			k := clienttest.Cart(reg, 1)
			serveSnapshot(t, conn, pos("e1", 1), k)
			waitView(t, c, "live after the retry", liveAt(1, k))
		})
	}
}

func TestHTTPUnauthorizedIsRejected(t *testing.T) {
	noLeaks(t)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	defer hs.Close()
	c := start(t, "ws"+strings.TrimPrefix(hs.URL, "http")+"/v1/display", nil)
	v := waitView(t, c, "rejected", func(v client.View) bool { return v.Status == client.StatusRejected })
	if !strings.Contains(v.Err, "401") {
		t.Errorf("Err: got %q, want HTTP 401", v.Err)
	}
	c.stop()
}

var errPinMismatch = errors.New("pin mismatch")

func TestUntrustedAgent(t *testing.T) {
	noLeaks(t)
	srv := clienttest.NewTLSServer(t)
	pinned := srv.TLSConfig()
	pinned.InsecureSkipVerify = true // trust comes from the pin alone, as in register/tlsid
	pinned.VerifyPeerCertificate = func([][]byte, [][]*x509.Certificate) error {
		return errPinMismatch
	}
	c := start(t, srv.URL, func(o *client.Options) {
		o.Source = client.Static{URL: srv.URL, TLS: pinned}
		o.IsUntrusted = func(err error) bool { return errors.Is(err, errPinMismatch) }
	})
	v := waitView(t, c, "untrusted", func(v client.View) bool { return v.Status == client.StatusUntrusted })
	if !strings.Contains(v.Err, "untrusted") {
		t.Errorf("Err: got %q, want it to say untrusted", v.Err)
	}
	c.stop()
}

func TestTrustedTLS(t *testing.T) {
	noLeaks(t)
	srv := clienttest.NewTLSServer(t)
	c := start(t, srv.URL, func(o *client.Options) {
		o.Source = client.Static{URL: srv.URL, TLS: srv.TLSConfig()}
		o.IsUntrusted = func(err error) bool { return errors.Is(err, errPinMismatch) }
	})
	conn := accept(t, srv)
	k := clienttest.Cart(reg, 2)
	serveSnapshot(t, conn, pos("e1", 1), k)
	waitView(t, c, "live over TLS", liveAt(1, k))
}

func TestUnknownMessagesIgnoredAndCues(t *testing.T) {
	noLeaks(t)
	srv := clienttest.NewServer(t)
	c := start(t, srv.URL, nil)
	conn := accept(t, srv)
	k := clienttest.Cart(reg, 1)
	must(t, conn.SendRaw([]byte(`{"type":"promo","images":["a.png"]}`))) // before welcome even
	serveSnapshot(t, conn, pos("e1", 1), k)
	must(t, conn.SendRaw([]byte(`{"type":"weather","temp":21}`)))
	must(t, conn.Send(protocol.Cue{Type: protocol.TypeCue, Register: reg, Cue: protocol.CueScanning}))
	v := waitView(t, c, "the cue", func(v client.View) bool { return v.Cue == protocol.CueScanning })
	if v.Status != client.StatusLive || v.CueAt.IsZero() || !cart.Equal(v.Cart, k) {
		t.Errorf("got %+v, want live with the cart and a cue time", v)
	}
}

func TestShutdownSendsCloseFrame(t *testing.T) {
	noLeaks(t)
	srv := clienttest.NewServer(t)
	c := start(t, srv.URL, nil)
	conn := accept(t, srv)
	k := clienttest.Cart(reg, 1)
	serveSnapshot(t, conn, pos("e1", 1), k)
	waitView(t, c, "live", liveAt(1, k))
	c.cancel()
	if err := <-c.done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run: got %v, want context.Canceled", err)
	}
	close(c.done)
	<-conn.Done()
	var ce *websocket.CloseError
	if err := conn.Err(); !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Errorf("agent saw: got %v, want close 1001 (going away)", err)
	}
}

func TestRunTwice(t *testing.T) {
	noLeaks(t)
	srv := clienttest.NewServer(t)
	c := start(t, srv.URL, nil)
	accept(t, srv)
	if err := c.Run(context.Background()); !errors.Is(err, client.ErrRunning) {
		t.Errorf("second Run: got %v, want ErrRunning", err)
	}
}

// TestSlowScreenNeverBlocksNetwork holds OnView while 300 deltas arrive: the
// replica keeps up, and the screen then gets the latest View.
func TestSlowScreenNeverBlocksNetwork(t *testing.T) {
	noLeaks(t)
	srv := clienttest.NewServer(t)
	release := make(chan struct{})
	var mu sync.Mutex
	var seen []client.View
	c := start(t, srv.URL, func(o *client.Options) {
		o.OnView = func(v client.View) {
			<-release
			mu.Lock()
			seen = append(seen, v)
			mu.Unlock()
		}
	})
	conn := accept(t, srv)
	prev := clienttest.Cart(reg, 0)
	serveSnapshot(t, conn, pos("e1", 0), prev)
	const n = 300
	for i := 1; i <= n; i++ {
		next := prev.Clone()
		next.State = cart.StateOpen
		next.Lines = append(next.Lines, clienttest.Line("x"+strconv.Itoa(i), "Thing", 1, 100))
		if len(next.Lines) > 50 {
			next.Lines = next.Lines[1:]
		}
		next = clienttest.Totalled(next)
		must(t, conn.Delta(pos("e1", uint64(i)), cart.Diff(prev, next)))
		prev = next
	}
	waitView(t, c, "the last delta with the screen blocked", liveAt(n, prev))
	close(release)
	deadline := time.After(waitLimit)
	for {
		mu.Lock()
		var last client.View
		if len(seen) > 0 {
			last = seen[len(seen)-1]
		}
		count := len(seen)
		mu.Unlock()
		if last.Position.Seq == n {
			if count > 3 {
				t.Errorf("OnView calls: got %d, want the blocked one and the latest (coalesced)", count)
			}
			break
		}
		select {
		case <-deadline:
			t.Fatalf("OnView never got seq %d; last %d", n, last.Position.Seq)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// gate is a Source that blocks until an address is released, like
// discovery before the agent's announcement.
type gate struct {
	url chan string
}

func (g gate) Next(ctx context.Context) (client.Target, error) {
	select {
	case u := <-g.url:
		g.url <- u // stays known
		return client.Target{URL: u}, nil
	case <-ctx.Done():
		return client.Target{}, ctx.Err()
	}
}

func TestStatusesFromSearchingToLive(t *testing.T) {
	noLeaks(t)
	srv := clienttest.NewServer(t)
	g := gate{url: make(chan string, 1)}
	var mu sync.Mutex
	var statuses []client.Status
	sawLive := make(chan struct{}) // OnView runs on its own goroutine, after Views
	heardLive := false
	c := start(t, srv.URL, func(o *client.Options) {
		o.Source = g
		o.OnView = func(v client.View) {
			mu.Lock()
			defer mu.Unlock()
			if len(statuses) == 0 || statuses[len(statuses)-1] != v.Status {
				statuses = append(statuses, v.Status)
				if v.Status == client.StatusLive && !heardLive {
					heardLive = true
					close(sawLive)
				}
			}
		}
	})
	if v := waitView(t, c, "searching", func(client.View) bool { return true }); v.Status != client.StatusSearching || v.HasCart {
		t.Errorf("first View: got %+v, want searching with no cart", v)
	}
	g.url <- srv.URL
	conn := accept(t, srv)
	k := clienttest.Cart(reg, 1)
	serveSnapshot(t, conn, pos("e1", 1), k)
	waitView(t, c, "live", liveAt(1, k))
	select {
	case <-sawLive:
	case <-time.After(waitLimit):
		t.Fatal("OnView never heard live")
	}
	c.stop()
	mu.Lock()
	defer mu.Unlock()
	// OnView coalesces, so intermediate statuses may be skipped, never reordered.
	want := []client.Status{client.StatusSearching, client.StatusConnecting, client.StatusLive}
	if !isSubsequence(statuses, want) || len(statuses) == 0 || statuses[len(statuses)-1] != client.StatusLive {
		t.Errorf("statuses: got %v, want an ordered subset of %v ending live", statuses, want)
	}
}

func isSubsequence(got, of []client.Status) bool {
	j := 0
	for _, s := range got {
		for j < len(of) && of[j] != s {
			j++
		}
		if j == len(of) {
			return false
		}
	}
	return true
}

func TestNewRejectsBadOptions(t *testing.T) {
	noLeaks(t)
	src := client.Static{URL: "ws://127.0.0.1:7422/v1/display"}
	tests := []struct {
		name string
		opts client.Options
	}{
		{"no register", client.Options{Source: src}},
		{"bad register", client.Options{Register: "lane 1", Source: src}},
		{"no source", client.Options{Register: reg}},
		{"http url", client.Options{Register: reg, Source: client.Static{URL: "http://x/v1/display"}}},
		{"no host", client.Options{Register: reg, Source: client.Static{URL: "ws:///v1/display"}}},
	}
	for _, tt := range tests {
		if _, err := client.New(tt.opts); err == nil {
			t.Errorf("%s: got no error, want one", tt.name)
		}
	}
	if _, err := client.New(client.Options{Register: reg, Source: client.Static{URL: "http://x"}}); !errors.Is(err, client.ErrBadURL) {
		t.Errorf("http url: got %v, want ErrBadURL", err)
	}
}

func TestResyncTimeoutReconnects(t *testing.T) {
	noLeaks(t)
	srv := clienttest.NewServer(t)
	c := start(t, srv.URL, func(o *client.Options) { o.ResyncTimeout = 100 * time.Millisecond })
	conn := accept(t, srv)
	steps := basket()
	serveSnapshot(t, conn, pos("e1", 1), steps[0])
	waitView(t, c, "live", liveAt(1, steps[0]))
	must(t, conn.Delta(pos("e1", 5), nil)) // gap; the agent then ignores the resync
	nextType(t, conn, protocol.TypeResync)
	<-conn.Done()
	conn = accept(t, srv)
	if conn.Hello.Resume != nil {
		t.Errorf("resume after a failed resync: got %+v, want a snapshot", conn.Hello.Resume)
	}
	serveSnapshot(t, conn, pos("e1", 5), steps[4])
	waitView(t, c, "live again", liveAt(5, steps[4]))
}

func TestBrokenAgentLoopIsCut(t *testing.T) {
	noLeaks(t)
	srv := clienttest.NewServer(t)
	c := start(t, srv.URL, nil)
	conn := accept(t, srv)
	k := clienttest.Cart(reg, 2)
	serveSnapshot(t, conn, pos("e1", 1), k)
	// Every snapshot is followed by a delta that does not apply.
	for i := 0; ; i++ {
		must(t, conn.SendRaw([]byte(`{"type":"delta","epoch":"e1","seq":2,"ops":[{"op":"boom"}]}`)))
		m, err := conn.Next(ctxT(t))
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
				t.Errorf("close: got %v, want 1008", err)
			}
			if i != 3 {
				t.Errorf("resyncs before the client gave up: got %d, want 3", i)
			}
			break
		}
		if m.Type != protocol.TypeResync {
			t.Fatalf("got %s, want resync", m.Type)
		}
		must(t, conn.Snapshot(pos("e1", 1), k))
	}
	if v := c.View(); !v.Stale() || !cart.Equal(v.Cart, k) {
		t.Errorf("got status %s cart %+v, want stale with the last good cart", v.Status, v.Cart)
	}
	conn = accept(t, srv) // it comes back, after a backoff, asking for a snapshot
	if conn.Hello.Resume != nil {
		t.Errorf("resume: got %+v, want a snapshot", conn.Hello.Resume)
	}
}

// TestPinnedIdentity uses the agent's real TLS identity and the display's
// pinned client configuration from register/tlsid.
func TestPinnedIdentity(t *testing.T) {
	id, err := tlsid.LoadOrCreate(t.TempDir(), tlsid.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := tlsid.LoadOrCreate(t.TempDir(), tlsid.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pin  string
		want client.Status
	}{
		{"pinned", id.Fingerprint, client.StatusLive},
		{"another register", other.Fingerprint, client.StatusUntrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeaks(t)
			srv := clienttest.NewTLSServerWith(t, id.ServerConfig())
			cfg, err := tlsid.PinnedClientConfig(tt.pin)
			if err != nil {
				t.Fatal(err)
			}
			c := start(t, srv.URL, func(o *client.Options) {
				o.Source = client.Static{URL: srv.URL, TLS: cfg}
				o.IsUntrusted = func(err error) bool { return errors.Is(err, tlsid.ErrUntrusted) }
			})
			if tt.want == client.StatusLive {
				conn := accept(t, srv)
				serveSnapshot(t, conn, pos("e1", 1), clienttest.Cart(reg, 1))
			}
			v := waitView(t, c, string(tt.want), func(v client.View) bool { return v.Status == tt.want })
			if tt.want == client.StatusUntrusted && (v.HasCart || !strings.Contains(v.Err, id.Fingerprint)) {
				t.Errorf("got %+v, want no cart and the presented fingerprint in Err", v)
			}
			c.stop()
		})
	}
}

// rotating is a Source over several addresses that moves on when one fails.
type rotating struct {
	mu     sync.Mutex
	urls   []string
	i      int
	failed []string
}

func (s *rotating) Next(ctx context.Context) (client.Target, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return client.Target{URL: s.urls[s.i%len(s.urls)]}, nil
}

func (s *rotating) Failed(t client.Target, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failed = append(s.failed, t.URL)
	s.i++
}

func TestSourceFeedback(t *testing.T) {
	noLeaks(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := "ws" + strings.TrimPrefix(dead.URL, "http") + "/v1/display"
	dead.Close()
	srv := clienttest.NewServer(t)
	src := &rotating{urls: []string{deadURL, srv.URL}}
	c := start(t, srv.URL, func(o *client.Options) { o.Source = src })
	conn := accept(t, srv)
	k := clienttest.Cart(reg, 1)
	serveSnapshot(t, conn, pos("e1", 1), k)
	waitView(t, c, "live on the second address", liveAt(1, k))
	c.stop()
	src.mu.Lock()
	defer src.mu.Unlock()
	if !slices.Equal(src.failed, []string{deadURL}) {
		t.Errorf("Failed calls: got %q, want only the dead address", src.failed)
	}
}

func testLogger(t testing.TB) *slog.Logger { return testlog.New(t, slog.LevelDebug) }
