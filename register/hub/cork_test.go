package hub

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/metrics"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/stream"
)

// deltaCounter counts the writes on its connections that carry at least
// one delta.
type deltaCounter struct {
	net.Listener
	writes atomic.Int32
}

func (l *deltaCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: c, l: l}, nil
}

type countedConn struct {
	net.Conn
	l *deltaCounter
}

func (c *countedConn) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(`"type":"delta"`)) {
		c.l.writes.Add(1)
	}
	return c.Conn.Write(p)
}

// Deltas that queued up while a display's socket was stalled go out in one
// write, still each as its own message and in order.
func TestQueuedDeltasGoOutInOneWrite(t *testing.T) {
	st := stream.New("1", "ep1", cart.Empty("1", "USD"), 256)
	h := New(map[string]*stream.Stream{"1": st}, tokens{"tok-a": "disp-a"}, metrics.New(), testLogger(t), Options{})
	srv := httptest.NewUnstartedServer(h)
	g := newGate(srv.Listener)
	counter := &deltaCounter{Listener: g}
	srv.Listener = counter
	srv.Start()
	t.Cleanup(func() {
		if err := h.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
		srv.Close()
	})
	f := &fixture{t: t, hub: h, st: st, srv: srv, gate: g, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
	ws := f.dial("tok-a", nil)
	if got := read(t, ws); got.Type != protocol.TypeSnapshot {
		t.Fatalf("catch-up: got %+v, want a snapshot", got)
	}

	g.shut()
	first := f.publish()
	<-g.blocked // the writer holds delta 1 and cannot write it
	const queued = 5
	for range queued {
		f.publish()
	}
	g.release()
	for i := range queued + 1 {
		got := read(t, ws)
		if got.Type != protocol.TypeDelta || got.Seq != first+uint64(i) {
			t.Fatalf("frame %d: got %s at %d, want delta at %d", i, got.Type, got.Seq, first+uint64(i))
		}
	}
	// One write for the delta held at the gate, one for the five queued
	// (or one for all six, when a heartbeat was the write held at the
	// gate); one write per delta would be six.
	if got := counter.writes.Load(); got < 1 || got > 2 {
		t.Errorf("writes carrying deltas: got %d, want 2 (or 1)", got)
	}
}

// A display's ping is answered by the writer (the reader never writes:
// cork.go), with the ping's payload.
func TestDisplayPingGetsPong(t *testing.T) {
	f := newFixture(t, Options{})
	ws := f.dial("tok-a", nil)
	ponged := make(chan string, 1)
	ws.SetPongHandler(func(data string) error {
		ponged <- data
		return nil
	})
	if err := ws.WriteControl(websocket.PingMessage, []byte("p1"), time.Now().Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	// Reading runs the pong handler; a heartbeat a second ends each read.
	for range 10 {
		_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, _, err := ws.ReadMessage(); err != nil {
			t.Fatalf("read: %v", err)
		}
		select {
		case got := <-ponged:
			if got != "p1" {
				t.Errorf("pong payload: got %q, want %q", got, "p1")
			}
			return
		default:
		}
	}
	t.Fatal("no pong after 10 messages")
}

// recordConn records the writes that reach it.
type recordConn struct {
	net.Conn // nil: only Write and SetWriteDeadline are used
	writes   [][]byte
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *recordConn) SetWriteDeadline(time.Time) error { return nil }

// A corked batch goes out in order, in writes of at most corkSize bytes
// (plus any single write larger than that, passed through whole).
func TestCorkConnSplitsLargeBatches(t *testing.T) {
	tests := []struct {
		name       string
		sizes      []int
		wantWrites []int
	}{
		{"small batch, one write", []int{100, 200, 300}, []int{600}},
		{"fills the buffer", []int{corkSize - 10, 20}, []int{corkSize - 10, 20}},
		{"exactly the buffer", []int{corkSize / 2, corkSize / 2, 1}, []int{corkSize, 1}},
		{"larger than the buffer", []int{100, corkSize + 1, 100}, []int{100, corkSize + 1, 100}},
		{"nothing", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &recordConn{}
			c := &corkConn{Conn: rc}
			var want []byte
			c.cork()
			for i, n := range tt.sizes {
				p := bytes.Repeat([]byte{byte('a' + i)}, n)
				want = append(want, p...)
				if _, err := c.Write(p); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.flush(); err != nil {
				t.Fatal(err)
			}
			var got []byte
			var sizes []int
			for _, w := range rc.writes {
				got = append(got, w...)
				sizes = append(sizes, len(w))
			}
			if !bytes.Equal(got, want) {
				t.Errorf("bytes: got %d, want %d in order", len(got), len(want))
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tt.wantWrites) {
				t.Errorf("writes: got %v, want %v", sizes, tt.wantWrites)
			}
			// Uncorked, writes pass straight through.
			_, _ = c.Write([]byte("x"))
			if n := len(rc.writes); n != len(tt.wantWrites)+1 {
				t.Errorf("after flush: got %d writes, want %d", n, len(tt.wantWrites)+1)
			}
		})
	}
}

// deadlineConn records the write deadlines set on it.
type deadlineConn struct {
	net.Conn
	set []time.Time
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.set = append(c.set, t)
	return nil
}

// TestCorkDeadlineStep: a deadline later than the one set by less than the
// step is not set again; a later one by the step or more, an earlier one
// (a shutdown's) and the zero time are.
func TestCorkDeadlineStep(t *testing.T) {
	under := &deadlineConn{}
	c := &corkConn{Conn: under, deadlineStep: time.Second}
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		t   time.Time
		set bool
	}{
		{t0, true},
		{t0.Add(20 * time.Millisecond), false},
		{t0.Add(999 * time.Millisecond), false},
		{t0.Add(time.Second), true},
		{t0.Add(1500 * time.Millisecond), false},
		{t0.Add(-time.Second), true}, // earlier: always
		{time.Time{}, true},
		{t0, true},
	}
	for i, s := range steps {
		before := len(under.set)
		if err := c.SetWriteDeadline(s.t); err != nil {
			t.Fatal(err)
		}
		if got := len(under.set) > before; got != s.set {
			t.Fatalf("step %d (%v): set %v, want %v (set so far %v)", i, s.t, got, s.set, under.set)
		}
	}
	// Corked, the deadline waits for the flush, and the step applies there.
	c.cork()
	_ = c.SetWriteDeadline(t0.Add(3 * time.Second))
	if n := len(under.set); under.set[n-1] != t0 {
		t.Fatalf("corked: a deadline was set before the flush: %v", under.set)
	}
	c.buf = &[]byte{}
	*c.buf = append(*c.buf, 'x')
	under.Conn = &recordConn{}
	if err := c.flush(); err != nil {
		t.Fatal(err)
	}
	if n := len(under.set); under.set[n-1] != t0.Add(3*time.Second) {
		t.Fatalf("after the flush the deadline is %v, want %v", under.set[n-1], t0.Add(3*time.Second))
	}
	// Without a step (a conn made elsewhere), every deadline is set.
	under2 := &deadlineConn{}
	c2 := &corkConn{Conn: under2}
	for range 3 {
		_ = c2.SetWriteDeadline(t0)
	}
	if len(under2.set) != 3 {
		t.Fatalf("no step: %d deadlines set, want 3", len(under2.set))
	}
}

// A display served by the hub writes through a corkConn whose deadline
// step is a tenth of WriteWait.
func TestHubCorkDeadlineStep(t *testing.T) {
	f := newFixture(t, Options{WriteWait: 7 * time.Second})
	f.dial("tok-a", nil)
	f.hub.mu.Lock()
	defer f.hub.mu.Unlock()
	if len(f.hub.conns) != 1 {
		t.Fatalf("%d displays connected, want 1", len(f.hub.conns))
	}
	for c := range f.hub.conns {
		if c.cork == nil || c.cork.deadlineStep != 700*time.Millisecond {
			t.Fatalf("display's cork %+v, want a deadline step of 700ms", c.cork)
		}
	}
}
