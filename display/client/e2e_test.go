package client_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/register/agent"
	"github.com/posdisplay/posdisplay/register/agent/agenttest"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

const (
	e2eOrigin = "http://pos.test"
	e2eToken  = "display-token-0123456789"
)

// realAgent is a register/agent on loopback ports.
type realAgent struct{ *agenttest.Running }

func startAgent(t *testing.T, stateDir, displayListen string) *realAgent {
	t.Helper()
	cfg := agent.DefaultConfig()
	cfg.AgentID = "e2e-agent"
	cfg.Registers = []string{reg}
	cfg.POS.Listen = "127.0.0.1:0"
	cfg.Display.Listen = displayListen
	cfg.POS.AllowedOrigins = []string{e2eOrigin}
	cfg.Display.Tokens = []string{e2eToken}
	cfg.State.Dir = stateDir
	return &realAgent{agenttest.Start(t, cfg, testLogger(t).With("side", "agent"))}
}

func (r *realAgent) stop() { _ = r.Stop() }

// pos is a POS page's socket to the agent.
type posPage struct {
	t  *testing.T
	ws *websocket.Conn
	n  int
}

func dialPOS(t *testing.T, a *realAgent) *posPage {
	t.Helper()
	u := fmt.Sprintf("ws://%s/v1/pos?register=%s", a.POSAddr(), reg)
	ws, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {e2eOrigin}})
	if err != nil {
		t.Fatalf("dial POS: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	p := &posPage{t: t, ws: ws}
	var w protocol.Welcome
	p.read(&w)
	if w.Type != protocol.TypeWelcome {
		t.Fatalf("POS welcome: got %+v", w)
	}
	return p
}

func (p *posPage) read(v any) {
	p.t.Helper()
	_ = p.ws.SetReadDeadline(time.Now().Add(waitLimit))
	_, data, err := p.ws.ReadMessage()
	if err != nil {
		p.t.Fatalf("POS read: %v", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		p.t.Fatalf("POS decode %s: %v", data, err)
	}
}

// send sends a cart snapshot as a POS page does and returns the acked seq.
func (p *posPage) send(c cart.Cart) uint64 {
	p.t.Helper()
	p.n++
	if err := p.ws.WriteJSON(protocol.CartMsg{Type: protocol.TypeCart, ID: protocol.StringID(fmt.Sprint(p.n)), Cart: c}); err != nil {
		p.t.Fatalf("POS write: %v", err)
	}
	var a struct {
		protocol.Ack
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	p.read(&a)
	if a.Type != protocol.TypeAck {
		p.t.Fatalf("POS cart %d: got %s %s: %s, want ack", p.n, a.Type, a.Code, a.Message)
	}
	return a.Seq
}

// TestEndToEnd drives a sale from a POS page through the real agent to a
// client's Views, then restarts the agent on the same port: the display
// goes stale at once and comes back with the persisted cart in a new epoch.
func TestEndToEnd(t *testing.T) {
	noLeaks(t)
	state := t.TempDir()
	a := startAgent(t, state, "127.0.0.1:0")
	displayAddr := a.DisplayAddr().String()
	c := start(t, "ws://"+displayAddr+"/v1/display", func(o *client.Options) { o.Token = e2eToken })
	first := waitView(t, c, "live", func(v client.View) bool { return v.Status == client.StatusLive })
	if first.Cart.State != cart.StateIdle || first.Position.Epoch != a.Epoch() {
		t.Fatalf("first View: got %+v, want the idle cart at epoch %s", first, a.Epoch())
	}

	page := dialPOS(t, a)
	var last cart.Cart
	var seq uint64
	for _, k := range basket() {
		seq = page.send(k)
		v := waitView(t, c, fmt.Sprintf("seq %d", seq), liveAt(seq, k))
		if v.Position.Epoch != a.Epoch() {
			t.Errorf("epoch: got %q, want %q", v.Position.Epoch, a.Epoch())
		}
		last = k
	}

	oldEpoch := a.Epoch()
	a.stop()
	v := waitView(t, c, "stale after the agent stopped", func(v client.View) bool { return v.Status == client.StatusReconnecting })
	if !cart.Equal(v.Cart, last) {
		t.Errorf("stale cart: got %+v, want the last one", v.Cart)
	}
	b := startAgent(t, state, displayAddr)
	v = waitView(t, c, "live after the restart", func(v client.View) bool {
		return v.Status == client.StatusLive && v.Position.Epoch != oldEpoch
	})
	if v.Position.Epoch != b.Epoch() || !cart.Equal(v.Cart, last) {
		t.Errorf("after the restart: got epoch %q cart %+v, want epoch %q and the persisted cart", v.Position.Epoch, v.Cart, b.Epoch())
	}
}

func TestEndToEndWrongToken(t *testing.T) {
	noLeaks(t)
	a := startAgent(t, t.TempDir(), "127.0.0.1:0")
	c := start(t, "ws://"+a.DisplayAddr().String()+"/v1/display", func(o *client.Options) { o.Token = "not-the-token-at-all" })
	v := waitView(t, c, "rejected", func(v client.View) bool { return v.Status == client.StatusRejected })
	if v.HasCart {
		t.Errorf("rejected display has a cart: %+v", v.Cart)
	}
	c.stop()
}

// TestEndToEndIdleStaysLive keeps a quiet stream live on the real agent's
// pongs alone, across several read timeouts.
func TestEndToEndIdleStaysLive(t *testing.T) {
	noLeaks(t)
	a := startAgent(t, t.TempDir(), "127.0.0.1:0")
	relay := newPongRelay(t, a.DisplayAddr().String())
	c := start(t, "ws://"+relay.addr+"/v1/display", func(o *client.Options) {
		o.Token = e2eToken
		o.ReadTimeout = idleReadTimeout
		o.PingInterval = idlePingInterval
	})
	v := waitView(t, c, "live", func(v client.View) bool { return v.Status == client.StatusLive })
	// The agent's answers to pings 50 ms apart: 50 of them span 2.5 read
	// timeouts of a stream that carries nothing else.
	deadline := time.After(20 * time.Second)
	for n, more := relay.next(); n < 50; n, more = relay.next() {
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("the agent sent %d pongs in 20 s, want 50", n)
		}
	}
	if now := c.View(); now.Status != client.StatusLive || now.Since != v.Since {
		t.Errorf("after 2.5 quiet read timeouts: got %s since %v (%s), want live since %v", now.Status, now.Since, now.Err, v.Since)
	}
}
