package redisfeed_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/redisfeed"
	"github.com/posdisplay/posdisplay/register/redisfeed/redistest"
)

// TestBackendToDisplays: three registers of one store, each fed by the
// backend's XADDs; each display shows its own register's cart only; bad
// entries are answered with an error on the results stream and change
// nothing.
func TestBackendToDisplays(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	be := newBackend(t, srv)
	regs := []string{"1", "2", "3"}
	a := startAgent(t, testConfig(t, srv.Addr, regs...))
	waitState(t, a.Feed(), redisfeed.StateUp)

	var displays []*display
	for _, r := range regs {
		displays = append(displays, dialDisplay(t, a, r))
	}
	for round := 1; round <= 3; round++ {
		for i, r := range regs {
			c := basket(r, "A-"+r, round*10+i)
			id := be.mustAdd(r, cartMsg(t, c, "m"+r))
			got := be.results(r).until(id)
			if last := got[len(got)-1]; last.Type != protocol.TypeAck || string(last.ID) != `"m`+r+`"` {
				t.Fatalf("register %s: result got %+v, want an ack of m%s", r, last, r)
			}
			displays[i].await(c)
		}
	}
	// Each display saw exactly its own three carts.
	for i, r := range regs {
		if displays[i].pos.Seq != 3 {
			t.Errorf("register %s: display at seq %d, want 3 (one delta per own entry)", r, displays[i].pos.Seq)
		}
	}

	bad := basket("2", "A-2", 99)
	bad.Total++
	wrongReg := basket("3", "A-3", 5)
	res := be.results("2")
	_ = res.until(be.mustAdd("2", cartMsg(t, basket("2", "A-2", 31), "ok"))) // already shown: no change
	for _, tc := range []struct {
		name   string
		fields []string
		code   string
	}{
		{"invalid cart", []string{redisfeed.FieldMsg, cartMsg(t, bad, "bad")}, protocol.CodeInvalidCart},
		{"cart of another register", []string{redisfeed.FieldMsg, cartMsg(t, wrongReg, "wr")}, protocol.CodeWrongRegister},
		{"not JSON", []string{redisfeed.FieldMsg, "{"}, protocol.CodeBadJSON},
		{"a scan ack", []string{redisfeed.FieldMsg, `{"type":"ack","id":"x"}`}, protocol.CodeBadMessage},
		{"no msg field", []string{"cart", "{}"}, redisfeed.CodeBadEntry},
		{"extra field", []string{redisfeed.FieldMsg, `{"type":"clear"}`, "trace", "1"}, redisfeed.CodeBadEntry},
	} {
		id, err := be.xadd("2", tc.fields...)
		if err != nil {
			t.Fatal(err)
		}
		got := res.next()
		if got.Type != protocol.TypeError || got.Entry != id || got.Code != tc.code {
			t.Errorf("%s: result got %+v, want error %s for entry %s", tc.name, got, tc.code, id)
		}
	}
	if st, _ := a.Stream("2"); st.Position().Seq != 3 {
		t.Errorf("register 2 at seq %d after bad entries, want 3: nothing applied", st.Position().Seq)
	}
	// A clear ends the sale on register 2 only.
	id := be.mustAdd("2", `{"type":"clear","id":7}`)
	if got := res.until(id); got[len(got)-1].Type != protocol.TypeAck || got[len(got)-1].Seq != 4 {
		t.Fatalf("clear: got %+v, want ack at seq 4", got[len(got)-1])
	}
	displays[1].await(cart.Empty("2", "USD"))
	if st, _ := a.Stream("1"); st.Cart().State != cart.StateOpen {
		t.Errorf("register 1 changed by register 2's clear")
	}
	h := healthz(t, a)
	if h["status"] != "ok" || h["redis"].(map[string]any)["state"] != redisfeed.StateUp {
		t.Errorf("healthz: got %v, want ok with the redis link up", h)
	}
}

// TestStartsFromNewest: an agent with no saved position applies the
// newest entry (the current cart), not the old sales before it.
func TestStartsFromNewest(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	be := newBackend(t, srv)
	var last string
	for i := 1; i <= 5; i++ {
		last = be.mustAdd("1", cartMsg(t, basket("1", "old", i), ""))
	}
	a := startAgent(t, testConfig(t, srv.Addr, "1"))
	d := dialDisplay(t, a, "1")
	d.await(basket("1", "old", 5))
	got := be.results("1").until(last)
	if len(got) != 1 || got[0].Seq != 1 {
		t.Fatalf("results: got %+v, want one ack (seq 1) for the newest entry only", got)
	}
	next := basket("1", "new", 1)
	id := be.mustAdd("1", cartMsg(t, next, ""))
	d.await(next)
	if r := be.results("1").until(id); r[len(r)-1].Seq != 2 {
		t.Fatalf("got %+v", r)
	}
}

// TestTrimmedWhileAway: entries after the saved position were trimmed
// while the agent was stopped (the backend's MAXLEN): the agent cannot
// apply them in order, so it jumps to the newest entry (the current cart)
// and counts the gap, rather than applying what is left of the backlog.
func TestTrimmedWhileAway(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	be := newBackend(t, srv)
	cfg := testConfig(t, srv.Addr, "1")
	a := startAgent(t, cfg)
	waitState(t, a.Feed(), redisfeed.StateUp)
	res := be.results("1")
	res.until(be.mustAdd("1", cartMsg(t, basket("1", "G", 1), "")))
	a.stop()

	var last string
	for i := 2; i <= 20; i++ {
		id, err := be.c.XAdd(context.Background(), &redis.XAddArgs{Stream: redisfeed.PosKey(prefix, testStore, "1"), MaxLen: 3,
			Values: []string{redisfeed.FieldMsg, cartMsg(t, basket("1", "G", i), "")}}).Result()
		if err != nil {
			t.Fatal(err)
		}
		last = id
	}
	a2 := startAgent(t, cfg)
	got := res.until(last)
	if len(got) != 1 || got[0].Type != protocol.TypeAck {
		t.Fatalf("after the gap: got %+v, want one ack, for the newest entry only", got)
	}
	dialDisplay(t, a2, "1").await(basket("1", "G", 20))
	if n := metricValue(t, a2, "posdisplay_redis_gaps_total"); n != 1 {
		t.Errorf("posdisplay_redis_gaps_total = %v, want 1", n)
	}
}

// metricValue is the value of an unlabelled counter or gauge of the agent.
func metricValue(t testing.TB, r *running, name string) float64 {
	t.Helper()
	mfs, err := r.Metrics().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			m := mf.GetMetric()[0]
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
