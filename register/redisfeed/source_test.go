package redisfeed_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/configfile"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/redisfeed"
	"github.com/posdisplay/posdisplay/register/redisfeed/redistest"
)

// TestPageAndRedis: when a POS page and the Redis feed both feed one
// register, the change accepted last wins, whichever path it came by
// (both go through the same ingest, in arrival order), and a restart keeps
// the page's cart: the Redis position is saved with the cart whatever its
// source, so no entry is applied again over a newer page cart.
func TestPageAndRedis(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	be := newBackend(t, srv)
	cfg := testConfig(t, srv.Addr, "1")
	a := startAgent(t, cfg)
	waitState(t, a.Feed(), redisfeed.StateUp)
	d := dialDisplay(t, a, "1")
	page := dialPage(t, a, "1")
	res := be.results("1")

	p1, r1, p2 := basket("1", "P", 1), basket("1", "R", 2), basket("1", "P", 3)
	page.send(t, p1)
	d.await(p1)
	res.until(be.mustAdd("1", cartMsg(t, r1, "")))
	d.await(r1)
	page.send(t, p2)
	d.await(p2)
	a.stop()

	a2 := startAgent(t, cfg)
	if st, _ := a2.Stream("1"); st.Cart().Order != "P" || st.Cart().Lines[0].Quantity != 3000 {
		t.Fatalf("restarted with %+v, want the page's last cart", st.Cart())
	}
	r2 := basket("1", "R", 4)
	got := res.until(be.mustAdd("1", cartMsg(t, r2, "")))
	if len(got) != 1 || got[0].Seq != 1 {
		t.Fatalf("after restart: got %+v, want only the new entry, at seq 1 (nothing re-applied)", got)
	}
	dialDisplay(t, a2, "1").await(r2)
}

type page struct{ ws *websocket.Conn }

func dialPage(t testing.TB, r *running, register string) *page {
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+r.POSAddr().String()+"/v1/pos?register="+register, http.Header{"Origin": {"http://pos.test"}})
	if err != nil {
		t.Fatalf("dial POS page: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	p := &page{ws: ws}
	if m := p.read(t); m["type"] != protocol.TypeWelcome {
		t.Fatalf("page welcome: got %v", m)
	}
	return p
}

func (p *page) read(t testing.TB) map[string]any {
	_ = p.ws.SetReadDeadline(time.Now().Add(wait))
	var m map[string]any
	if err := p.ws.ReadJSON(&m); err != nil {
		t.Fatalf("page read: %v", err)
	}
	return m
}

// send sends a cart as the POS page does and waits for its ack.
func (p *page) send(t testing.TB, c cart.Cart) {
	if err := p.ws.WriteMessage(websocket.TextMessage, []byte(cartMsg(t, c, "p"))); err != nil {
		t.Fatal(err)
	}
	if m := p.read(t); m["type"] != protocol.TypeAck {
		t.Fatalf("page: got %v, want an ack", m)
	}
}

// TestPublishAndPresence: the opt-in PUBLISH compatibility applies a
// published cart; the presence key says which registers are alive and
// disappears when the agent stops.
func TestPublishAndPresence(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	be := newBackend(t, srv)
	cfg := testConfig(t, srv.Addr, "1", "2")
	cfg.Redis.Registers = []string{"1"}
	cfg.Redis.Publish = true
	cfg.Redis.PresenceTTL = configfile.Duration(3 * time.Second) // the shortest: refreshed every second
	a := startAgent(t, cfg)
	d := dialDisplay(t, a, "1")
	for s, ch := a.Feed().Watch(); !s.Subscribed || s.Presence.IsZero(); s, ch = a.Feed().Watch() {
		select {
		case <-ch:
		case <-time.After(wait):
			t.Fatalf("status %+v: want subscribed and presence written", s)
		}
	}
	c := basket("1", "PUB", 2)
	if n := be.c.Publish(context.Background(), redisfeed.PubChannel(prefix, testStore, "1"), cartMsg(t, c, "")).Val(); n != 1 {
		t.Fatalf("publish reached %d subscribers, want 1", n)
	}
	d.await(c)
	// The next refresh of the presence key (every PresenceTTL/3) says so.
	since := time.Now()
	for s, ch := a.Feed().Watch(); !s.Presence.After(since); s, ch = a.Feed().Watch() {
		select {
		case <-ch:
		case <-time.After(wait):
			t.Fatalf("presence not refreshed: %+v", s)
		}
	}

	key := redisfeed.PresenceKey(prefix, testStore, cfg.AgentID)
	var p redisfeed.Presence
	if err := json.Unmarshal([]byte(be.c.Get(context.Background(), key).Val()), &p); err != nil {
		t.Fatalf("presence key: %v", err)
	}
	if p.Agent != cfg.AgentID || p.Store != testStore || len(p.Registers) != 2 || !p.Registers[0].Following || p.Registers[1].Following || p.Registers[0].Displays != 1 || p.Registers[0].Seq != 1 {
		t.Errorf("presence: got %+v", p)
	}
	if ttl := be.c.TTL(context.Background(), key).Val(); ttl <= 0 || ttl > 3*time.Second {
		t.Errorf("presence TTL %v, want within (0, 3s]", ttl)
	}
	a.stop()
	if n := be.c.Exists(context.Background(), key).Val(); n != 0 {
		t.Errorf("presence key still there after a clean stop")
	}
}
