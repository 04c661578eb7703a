package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/testlog"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testOrigin = "http://pos.test"
	testToken  = "display-token-0123456789"
)

func testConfig(t testing.TB) Config {
	cfg := DefaultConfig()
	cfg.AgentID = "test-agent"
	cfg.Registers = []string{"1", "2"}
	cfg.POS.Listen = "127.0.0.1:0"
	cfg.Display.Listen = "127.0.0.1:0"
	cfg.POS.AllowedOrigins = []string{testOrigin}
	cfg.Display.Tokens = []string{testToken}
	cfg.State.Dir = t.TempDir()
	cfg.Display.TLS = false         // TestPairing covers TLS
	cfg.Discovery.Advertise = false // never send mDNS on the host's interfaces
	return cfg
}

type running struct {
	*Agent
	cancel context.CancelFunc
	done   chan error
}

// start runs an agent until the test ends (or stop is called).
func start(t testing.TB, cfg Config) *running {
	t.Helper()
	a, err := New(cfg, testLogger(t), Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Agent: a, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
	r.cancel()
	<-r.done
	r.done <- nil // make stop idempotent
}

func (r *running) posURL(register string) string {
	return fmt.Sprintf("ws://%s/v1/pos?register=%s", r.POSAddr(), register)
}

func (r *running) displayURL() string {
	return fmt.Sprintf("ws://%s/v1/display", r.DisplayAddr())
}

// dialPOS opens a POS socket and reads the welcome.
func dialPOS(t testing.TB, r *running, register string) *websocket.Conn {
	t.Helper()
	h := http.Header{"Origin": {testOrigin}}
	ws, resp, err := websocket.DefaultDialer.Dial(r.posURL(register), h)
	if err != nil {
		t.Fatalf("dial POS: %v (resp %v)", err, resp)
	}
	t.Cleanup(func() { ws.Close() })
	var w protocol.Welcome
	readJSON(t, ws, &w)
	if w.Type != protocol.TypeWelcome || w.Register != register || w.Protocol != protocol.Version {
		t.Fatalf("POS welcome: got %+v", w)
	}
	return ws
}

// dialDisplay opens a display socket, says hello and reads the welcome.
func dialDisplay(t testing.TB, r *running, register string, resume *protocol.Position) *websocket.Conn {
	t.Helper()
	return dialDisplayWith(t, websocket.DefaultDialer, r, register, resume)
}

// smallBufferDialer makes a display whose socket receive buffer is tiny, so
// that it falls behind as soon as it stops reading.
func smallBufferDialer() *websocket.Dialer {
	d := *websocket.DefaultDialer
	nd := &net.Dialer{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	d.NetDialContext = nd.DialContext
	return &d
}

func dialDisplayWith(t testing.TB, d *websocket.Dialer, r *running, register string, resume *protocol.Position) *websocket.Conn {
	t.Helper()
	ws, _, err := d.Dial(r.displayURL(), nil)
	if err != nil {
		t.Fatalf("dial display: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	writeJSON(t, ws, protocol.Hello{Type: protocol.TypeHello, Register: register, Token: testToken, Resume: resume})
	var w protocol.Welcome
	readJSON(t, ws, &w)
	if w.Type != protocol.TypeWelcome || w.Register != register {
		t.Fatalf("display welcome: got %+v", w)
	}
	return ws
}

func writeJSON(t testing.TB, ws *websocket.Conn, v any) {
	t.Helper()
	if err := ws.WriteJSON(v); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func readJSON(t testing.TB, ws *websocket.Conn, v any) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
}

// readServer returns the next message from the agent other than a
// heartbeat.
func readServer(t testing.TB, ws *websocket.Conn) protocol.ServerMessage {
	t.Helper()
	for {
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if bytes.Contains(data, []byte(`"type":"heartbeat"`)) {
			continue
		}
		m, err := protocol.DecodeServer(data)
		if err != nil {
			t.Fatalf("decode %s: %v", data, err)
		}
		return m
	}
}

// answer reads the agent's answer to a POS message: an ack or an error.
func answer(t testing.TB, ws *websocket.Conn) (*protocol.Ack, *protocol.Error) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	var env struct{ Type string }
	_ = json.Unmarshal(data, &env)
	switch env.Type {
	case protocol.TypeAck:
		var a protocol.Ack
		if err := json.Unmarshal(data, &a); err != nil {
			t.Fatalf("decode ack %s: %v", data, err)
		}
		return &a, nil
	case protocol.TypeError:
		var e protocol.Error
		if err := json.Unmarshal(data, &e); err != nil {
			t.Fatalf("decode error %s: %v", data, err)
		}
		return nil, &e
	}
	t.Fatalf("answer: got %s, want ack or error", data)
	return nil, nil
}

// sendCart sends a cart message and returns the ack's seq, failing on error.
func sendCart(t testing.TB, ws *websocket.Conn, id string, c cart.Cart) uint64 {
	t.Helper()
	writeJSON(t, ws, protocol.CartMsg{Type: protocol.TypeCart, ID: protocol.StringID(id), Cart: c})
	ack, e := answer(t, ws)
	if e != nil {
		t.Fatalf("cart %s: got error %+v, want ack", id, e)
	}
	if string(ack.ID) != `"`+id+`"` {
		t.Fatalf("cart %s: ack id got %s", id, ack.ID)
	}
	return ack.Seq
}

// replica follows a display socket.
type replica struct {
	pos  protocol.Position
	cart cart.Cart
}

// follow reads messages until the replica reaches seq, applying snapshots
// and deltas exactly as a display must.
func (rp *replica) follow(t testing.TB, ws *websocket.Conn, seq uint64) {
	t.Helper()
	for rp.pos.Seq < seq || rp.pos.Epoch == "" {
		m := readServer(t, ws)
		switch {
		case m.Snapshot != nil:
			rp.pos, rp.cart = m.Snapshot.Position, m.Snapshot.Cart
		case m.Resumed != nil:
			if m.Resumed.Position != rp.pos {
				t.Fatalf("resumed at %+v, replica at %+v", m.Resumed.Position, rp.pos)
			}
		case m.Delta != nil:
			if m.Delta.Epoch != rp.pos.Epoch || m.Delta.Seq != rp.pos.Seq+1 {
				t.Fatalf("delta %+v does not follow %+v", m.Delta.Position, rp.pos)
			}
			c, err := cart.Apply(rp.cart, m.Delta.Ops)
			if err != nil {
				t.Fatalf("apply delta %d: %v", m.Delta.Seq, err)
			}
			rp.pos, rp.cart = m.Delta.Position, c
		default:
			t.Fatalf("unexpected %s message", m.Type)
		}
	}
}

// basket returns a valid open cart for register with n lines.
func basket(register string, n int) cart.Cart {
	c := cart.Empty(register, "USD")
	c.State = cart.StateOpen
	c.Order = "T-1"
	for i := 0; i < n; i++ {
		c.Lines = append(c.Lines, cart.Line{ID: fmt.Sprintf("l%d", i+1), Title: fmt.Sprintf("Item %d", i+1), Quantity: 1000, UnitPrice: cart.Money(100 + i)})
	}
	Recompute(&c, 800)
	return c
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

// counterValue reads one sample from the agent's registry.
func counterValue(t testing.TB, r *running, name string) float64 {
	t.Helper()
	mfs, err := r.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			label := mf.GetName()
			if len(m.GetLabel()) > 0 {
				label += "{"
				for i, l := range m.GetLabel() {
					if i > 0 {
						label += ","
					}
					label += l.GetName() + `="` + l.GetValue() + `"`
				}
				label += "}"
			}
			if label == name {
				if c := m.GetCounter(); c != nil {
					return c.GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func testLogger(t testing.TB) *slog.Logger { return testlog.New(t, slog.LevelDebug) }
