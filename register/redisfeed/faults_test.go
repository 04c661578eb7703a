package redisfeed_test

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/metrics"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/redisfeed"
	"github.com/posdisplay/posdisplay/register/redisfeed/redistest"
	"github.com/posdisplay/posdisplay/register/store"
	"github.com/posdisplay/posdisplay/register/testlog"
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

	// 4. The agent crashes while it applies a burst: its state directory
	// is copied as a crash leaves it (file by file while the agent writes)
	// and a new agent starts on the copy. Each register's cart and saved
	// position are one atomic file, so the copy can only hold the two
	// together.
	last = add(31, 45)
	crashed := t.TempDir()
	copyDir(t, filepath.Join(cfg.State.Dir, "carts"), filepath.Join(crashed, "carts"))
	res.until(last)
	run1 := be.results("1").until(last) // every result of the first run, from the start
	d1.await(basket("1", "F", 45))
	a1.stop()
	run1Deltas := d1.pos.Seq
	if _, err := os.Stat(filepath.Join(cfg.State.Dir, "redis", "positions.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("legacy positions file: %v, want none written", err)
	}

	st, err := store.Open(crashed, testlog.New(t, slog.LevelInfo), metrics.New())
	if err != nil {
		t.Fatal(err)
	}
	restored, err := st.Load("1")
	saved, ok := st.Position("1")
	st.Close()
	if err != nil || !ok {
		t.Fatalf("no cart and position saved before the crash: %v %v", saved, err)
	}
	p, ok := index[saved.LastID] // 0-based: entries 0..p were applied
	if !ok {
		t.Fatalf("saved position %q is no entry of the backend's", saved.LastID)
	}
	m := restored.Lines[0].Quantity/1000 - 1 // 0-based entry of the stored cart
	if m != cart.Quantity(p) {
		t.Fatalf("stored cart is entry %d's, saved position entry %d's: want the two to agree", m+1, p+1)
	}
	cfg2 := cfg
	cfg2.State.Dir = crashed
	a2 := startAgent(t, cfg2)
	d2 := dialDisplay(t, a2, "1")
	last = add(46, 50)
	all := be.results("1").until(last)
	d2.await(basket("1", "F", 50))
	run2 := all[len(run1):]

	type app struct {
		entry int
		seq   uint64
	}
	check := func(name string, rs []redisfeed.Result, from int, firstSeq uint64) {
		t.Helper()
		// Results are at least once (docs/redis.md): after a link failure
		// a whole pipeline of answers can be written again, so a backend
		// deduplicates by entry, as here. An entry answered again must
		// carry the same seq: a different one would mean applied twice.
		var got []app
		seen := map[int]uint64{}
		for _, r := range rs {
			if r.Type != protocol.TypeAck {
				t.Fatalf("%s: result %+v, want only acks", name, r)
			}
			a := app{index[r.Entry], r.Seq}
			if seq, dup := seen[a.entry]; dup {
				if seq != a.seq {
					t.Fatalf("%s: entry %d answered at seq %d and again at seq %d: applied twice", name, a.entry+1, seq, a.seq)
				}
				continue
			}
			seen[a.entry] = a.seq
			got = append(got, a)
		}
		for j, a := range got {
			if a.entry != from+j || a.seq != firstSeq+uint64(j) {
				t.Fatalf("%s: result %d is entry %d at seq %d, want entry %d at seq %d: each entry once, in order (all: %v)",
					name, j, a.entry+1, a.seq, from+j+1, firstSeq+uint64(j), got)
			}
		}
		if got[len(got)-1].entry != index[rs[len(rs)-1].Entry] {
			t.Fatalf("%s: ends early", name)
		}
	}
	check("first run", run1, 0, 1)
	// The restarted run applies exactly the entries after the saved one,
	// the first at seq 1 like any first change.
	check("restarted run", run2, p+1, 1)
	if index[run2[len(run2)-1].Entry] != 49 {
		t.Errorf("restarted run ended at entry %d, want 50", index[run2[len(run2)-1].Entry]+1)
	}
	if run1Deltas != 45 {
		t.Errorf("first display saw %d deltas, want 45: one per entry", run1Deltas)
	}
	t.Logf("crash saved entry %d of 45 with its cart; the restarted agent applied %d..50", p+1, p+2)
}
