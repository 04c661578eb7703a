package redisfeed_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/redisfeed"
	"github.com/posdisplay/posdisplay/register/redisfeed/redistest"
)

// TestExactlyOnceAcrossFaults feeds one register through every fault the
// link meets: the link cut (a proxy drops every connection and refuses new
// ones while the backend goes on writing), Redis killed with SIGKILL and
// restarted on its AOF, and the agent crashing (its state directory
// copied as a crash leaves it, the agent restarted on the copy). Every
// entry the backend got an id for is applied, in order; within a run none
// twice; a restarted run resumes exactly after the entry saved with its
// cart; the display converges to the newest cart.
func TestExactlyOnceAcrossFaults(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	proxy := redistest.NewProxy(t, srv.Addr)
	be := newBackend(t, srv)
	cfg := testConfig(t, proxy.Addr, "1")
	a1 := startAgent(t, cfg)
	d1 := dialDisplay(t, a1, "1")
	// Entries written before an agent's first connection are old sales
	// it skips (it starts from the newest): wait until it is connected.
	waitState(t, a1.Feed(), redisfeed.StateUp)

	var ids []string // the entry ids the backend got, in order
	index := map[string]int{}
	add := func(from, to int) string {
		for i := from; i <= to; i++ {
			id := be.mustAdd("1", cartMsg(t, basket("1", "F", i), ""))
			index[id] = len(ids)
			ids = append(ids, id)
		}
		return ids[len(ids)-1]
	}
	res := be.results("1")

	// 1. Normal operation.
	res.until(add(1, 10))

	// 2. The link cut while the backend writes, then Redis killed with
	// those entries in its AOF only, restarted, and the link restored.
	proxy.Cut()
	waitState(t, a1.Feed(), redisfeed.StateDegraded)
	add(11, 15)
	srv.Restart() // kill -9, then start on the same AOF
	last := add(16, 20)
	proxy.Restore()
	res.until(last)
	waitState(t, a1.Feed(), redisfeed.StateUp)

	// 3. Redis killed under a connected agent.
	srv.Restart()
	res.until(add(21, 30))

	// 4. The agent crashes while it applies a burst. Flush stands for the
	// write interval passing at least once before the crash, so the crash
	// leaves a position (without one the agent would start from the
	// newest entry: TestStartsFromNewest).
	a1.Feed().Flush()
	last = add(31, 45)
	crashed := t.TempDir()
	copyDir(t, cfg.State.Dir, crashed)
	res.until(last)
	d1.await(basket("1", "F", 45))
	a1.stop()
	run1Deltas := d1.pos.Seq

	var saved redisfeed.Saved
	data, err := os.ReadFile(filepath.Join(crashed, "redis", "1.json"))
	if err != nil {
		t.Fatalf("no position saved before the crash: %v", err)
	}
	if err := json.Unmarshal(data, &saved); err != nil {
		t.Fatal(err)
	}
	p, ok := index[saved.LastID]
	if !ok {
		t.Fatalf("saved position %q is no entry of the backend's", saved.LastID)
	}
	if want := basket("1", "F", p+1); !reflect.DeepEqual(saved.Cart, want) {
		t.Fatalf("saved cart is not entry %d's cart: got %+v", p+1, saved.Cart)
	}
	cfg2 := cfg
	cfg2.State.Dir = crashed
	a2 := startAgent(t, cfg2)
	d2 := dialDisplay(t, a2, "1")
	last = add(46, 50)
	res.until(last)
	d2.await(basket("1", "F", 50))

	// Every result, in order: split into the two runs by seq (every
	// entry changes the cart, so each application is one seq more; a
	// result repeated after a lost pipeline reply has the same seq).
	all := be.results("1").until(last)
	type app struct {
		entry int
		seq   uint64
	}
	var runs [][]app
	for _, r := range all {
		if r.Type != protocol.TypeAck {
			t.Fatalf("result %+v, want only acks", r)
		}
		i, ok := index[r.Entry]
		if !ok {
			t.Fatalf("result for unknown entry %s", r.Entry)
		}
		if r.Seq == 1 {
			runs = append(runs, nil)
		}
		cur := &runs[len(runs)-1]
		if n := len(*cur); n > 0 && (*cur)[n-1] == (app{i, r.Seq}) {
			continue // the same answer written twice
		}
		*cur = append(*cur, app{i, r.Seq})
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, r := range all {
				t.Logf("result: entry %d seq %d", index[r.Entry]+1, r.Seq)
			}
		}
	})
	if len(runs) != 2 {
		t.Fatalf("got %d runs of results, want 2: %v", len(runs), runs)
	}
	for k, run := range runs {
		for j := 1; j < len(run); j++ {
			if run[j].entry != run[j-1].entry+1 || run[j].seq != run[j-1].seq+1 {
				t.Fatalf("run %d: entry %d (seq %d) follows entry %d (seq %d): want each entry once, in order",
					k+1, run[j].entry+1, run[j].seq, run[j-1].entry+1, run[j-1].seq)
			}
		}
	}
	if runs[0][0].entry != 0 || runs[0][len(runs[0])-1].entry != 44 {
		t.Errorf("first run applied entries %d..%d, want 1..45", runs[0][0].entry+1, runs[0][len(runs[0])-1].entry+1)
	}
	if runs[1][0].entry != p+1 || runs[1][len(runs[1])-1].entry != 49 {
		t.Errorf("restarted run applied entries %d..%d, want %d..50 (after the saved entry %d)", runs[1][0].entry+1, runs[1][len(runs[1])-1].entry+1, p+2, p+1)
	}
	if run1Deltas != 45 {
		t.Errorf("first display saw %d deltas, want 45: one per entry", run1Deltas)
	}
	t.Logf("crash saved entry %d of 45; the restarted agent applied %d..50", p+1, p+2)
}
