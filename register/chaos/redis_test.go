package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/register/metrics"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/redisfeed"
	"github.com/posdisplay/posdisplay/register/redisfeed/redistest"
	"github.com/posdisplay/posdisplay/register/store"
)

const (
	redisPrefix = "chaos"
	redisStore  = "s1"
)

// redisSection is the agent's [redis] section for register on addr, as
// the ACL user agentUser (see agentLogin). The results stream keeps every
// result of a run (maxlen), so that the test can read them all at the end.
func redisSection(t *testing.T, srv *redistest.Server, addr string) string {
	pw := filepath.Join(t.TempDir(), "redis-password")
	if err := os.WriteFile(pw, []byte("agent-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.Do(t, "ACL", "SETUSER", agentUser, "reset", "on", ">agent-password", "~*", "&*", "+@all")
	return fmt.Sprintf("[redis]\nurl = %q\nusername = %q\npassword_file = %q\nprefix = %q\nstore = %q\nregisters = [%q]\nmaxlen = 1000000\n",
		"redis://"+addr, agentUser, pw, redisPrefix, redisStore, register)
}

// agentUser is the agent's ACL user: CLIENT LIST tells its connections
// from the backend's by it.
const agentUser = "chaos-agent"

// awaitAgentGone waits until Redis has closed every connection of the
// killed agent. Redis runs what a connection sent before it reads its
// end, so from then on nothing the dead agent wrote is still to come: a
// pipeline of results already in Redis's socket buffer at the kill could
// otherwise be run after the test's next command.
func awaitAgentGone(t *testing.T, srv *redistest.Server) {
	t.Helper()
	var list string
	if _, ok := poll(context.Background(), 10*time.Second, func() bool {
		list = srv.Do(t, "CLIENT", "LIST").(string)
		return !strings.Contains(list, "user="+agentUser+" ")
	}); !ok {
		t.Fatalf("the killed agent's connections still open after 10 s:\n%s", list)
	}
}

// redisBackend is the POS backend's side of a register's streams.
type redisBackend struct {
	t   *testing.T
	c   *redis.Client
	tag string

	// mu guards ids and idx: a burst adds while the test reads.
	mu  sync.Mutex
	ids []string       // entry ids the backend got, in order
	idx map[string]int // entry id → index in ids
}

// index returns the index of the entry with id.
func (b *redisBackend) index(id string) (int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i, ok := b.idx[id]
	return i, ok
}

func newRedisBackend(t *testing.T, srv *redistest.Server, tag string) *redisBackend {
	return &redisBackend{t: t, c: srv.Client(t), tag: tag, idx: map[string]int{}}
}

// add XADDs cart n (cartN(tag, n)) and records the id Redis gave it. The
// entry's index in ids is n: the test adds carts 0, 1, 2… in order.
func (b *redisBackend) add(ctx context.Context, n int) error {
	data, err := json.Marshal(protocol.CartMsg{Type: protocol.TypeCart, Cart: cartN(b.tag, n)})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	id, err := b.c.XAdd(ctx, &redis.XAddArgs{
		Stream: redisfeed.PosKey(redisPrefix, redisStore, register), MaxLen: 1_000_000, Approx: true,
		Values: []string{redisfeed.FieldMsg, string(data)},
	}).Result()
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if n != len(b.ids) {
		return fmt.Errorf("cart %d added as entry %d", n, len(b.ids))
	}
	b.idx[id] = len(b.ids)
	b.ids = append(b.ids, id)
	return nil
}

// resultsKey is the register's results stream.
var resultsKey = redisfeed.ResultsKey(redisPrefix, redisStore, register)

// awaitResult blocks on the results stream (XREAD BLOCK, from after) until
// the result of entry arrives, or limit passes. It returns the id of that
// result in the results stream.
func (b *redisBackend) awaitResult(after, entry string, limit time.Duration) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		res, err := b.c.XRead(ctx, &redis.XReadArgs{Streams: []string{resultsKey, after}, Count: 100, Block: time.Second}).Result()
		if err == redis.Nil {
			continue
		}
		if err != nil {
			return "", false
		}
		for _, m := range res[0].Messages {
			after = m.ID
			var r redisfeed.Result
			if json.Unmarshal([]byte(m.Values[redisfeed.FieldMsg].(string)), &r) == nil && r.Entry == entry {
				return m.ID, true
			}
		}
	}
}

// lastResultID is the id of the newest result ("0-0" when none).
func (b *redisBackend) lastResultID() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := b.c.XRevRangeN(ctx, resultsKey, "+", "-", 1).Result()
	if err != nil {
		b.t.Fatalf("xrevrange results: %v", err)
	}
	if len(m) == 0 {
		return "0-0"
	}
	return m[0].ID
}

// answer is one entry applied: its index and the seq it got.
type answer struct{ entry, seq int }

// runResults reads the results written after from, up to and including
// to, deduplicated by entry as docs/redis.md tells backends (results are
// at least once). An entry answered twice at different seqs was applied
// twice: that fails the test.
func (b *redisBackend) runResults(name, from, to string) []answer {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := b.c.XRange(ctx, resultsKey, "("+from, to).Result()
	if err != nil {
		b.t.Fatalf("xrange results: %v", err)
	}
	var out []answer
	seen := map[int]int{}
	for _, m := range msgs {
		var r redisfeed.Result
		if err := json.Unmarshal([]byte(m.Values[redisfeed.FieldMsg].(string)), &r); err != nil {
			b.t.Fatalf("%s: result %v: %v", name, m.Values, err)
		}
		i, ok := b.index(r.Entry)
		if r.Type != protocol.TypeAck || !ok {
			b.t.Fatalf("%s: result %+v, want an ack of one of the backend's entries", name, r)
		}
		if seq, dup := seen[i]; dup {
			if seq != int(r.Seq) {
				b.t.Errorf("%s: entry %d answered at seq %d and again at seq %d: applied twice", name, i, seq, r.Seq)
			}
			continue
		}
		seen[i] = int(r.Seq)
		out = append(out, answer{i, int(r.Seq)})
	}
	return out
}

// savedPosition opens the state directory of a killed agent as the next
// start will and returns the index of the entry saved with the cart, and
// the index of the cart itself (-1: none).
func (b *redisBackend) savedPosition(stateDir string) (entry, cartIdx int) {
	b.t.Helper()
	st, err := store.Open(stateDir, slog.New(slog.DiscardHandler), metrics.New())
	if err != nil {
		b.t.Fatal(err)
	}
	defer st.Close()
	c, err := st.Load(register)
	if err != nil {
		b.t.Fatalf("cart after the kill: %v", err)
	}
	p, ok := st.Position(register)
	if !ok {
		return -1, -1
	}
	i, known := b.index(p.LastID)
	if !known {
		b.t.Fatalf("saved position %q is no entry the backend got an id for", p.LastID)
	}
	n, ok := orderIndex(c.Order, b.tag)
	if !ok {
		n = -1
	}
	return i, n
}

// checkRun checks one run's answers: entries first..first+len-1 in order,
// at seqs 1, 2, 3… (each run starts a new epoch at seq 0).
func checkRun(t *testing.T, name string, got []answer, first int) {
	t.Helper()
	for j, a := range got {
		if a.entry != first+j || a.seq != j+1 {
			t.Fatalf("%s: answer %d is entry %d at seq %d, want entry %d at seq %d: each entry once, in order (all: %v)",
				name, j, a.entry, a.seq, first+j, j+1, got)
		}
	}
}

// redisState is the Redis link's state in the agent's /healthz.
func redisState(a *agentProc) string {
	resp, err := http.Get("http://" + a.cfg.posAddr + "/healthz")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var h struct{ Redis redisfeed.Status }
	if json.NewDecoder(resp.Body).Decode(&h) != nil {
		return ""
	}
	return h.Redis.State
}

// TestRedisKillUnderBurst kills the real agent binary with SIGKILL while
// the backend XADDs a burst of carts to the register's stream, restarts
// it on the same state directory while the burst goes on, and checks,
// from the results stream and the state the kill left:
//   - every entry the backend got an id for is applied exactly once across
//     the crash: a run's answers (deduplicated by entry) are consecutive
//     entries in order at seqs 1, 2, 3…; the killed run answered nothing
//     after the entry saved with its cart (acks are durable), the restarted
//     run starts right after it; no entry answered at two seqs;
//   - the stored cart is the saved entry's (one atomic write);
//   - the display (the real client library, reconnecting) converges to the
//     newest cart.
func TestRedisKillUnderBurst(t *testing.T) {
	rounds, burst := 2, 150
	if *long {
		rounds, burst = 10, 400
	}
	const tag = "rk"
	srv := redistest.Start(t, redistest.Options{})
	be := newRedisBackend(t, srv, tag)
	cfg := newAgentConfig(t)
	cfg.extra = redisSection(t, srv, srv.Addr)
	a := startAgent(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	ws := watch(t, ctx, a.displayURL(), 1)
	t.Cleanup(cancel)

	// Entry 0: the agent has no saved position, so it applies the newest
	// entry once connected; its answer says the agent follows the stream.
	if err := be.add(ctx, 0); err != nil {
		t.Fatal(err)
	}
	runStart := "0-0" // results of the current run come after this id
	if _, ok := be.awaitResult(runStart, be.ids[0], 30*time.Second); !ok {
		t.Fatal("no answer to the first entry within 30 s")
	}
	first := 0 // the first entry the current run applies
	var lost, resumed []int
	for round := range rounds {
		killAt := burst/4 + rand.N(burst/2)
		killNow := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			base := len(be.ids)
			for i := range burst {
				if err := be.add(ctx, base+i); err != nil {
					done <- err
					return
				}
				if i == killAt {
					close(killNow)
				}
			}
			done <- nil
		}()
		<-killNow
		a.kill()
		awaitAgentGone(t, srv)
		killed := be.lastResultID() // the dead run writes nothing more
		saved, cartIdx := be.savedPosition(cfg.stateDir)
		a = startAgent(t, cfg) // the burst goes on meanwhile
		if err := <-done; err != nil {
			t.Fatalf("round %d: xadd: %v", round, err)
		}
		// One more, surely after the kill: the restarted run has at least
		// one entry to apply even if the dead one got through the burst.
		if err := be.add(ctx, len(be.ids)); err != nil {
			t.Fatal(err)
		}
		last := be.ids[len(be.ids)-1]
		end, ok := be.awaitResult(killed, last, 30*time.Second)
		if !ok {
			t.Fatalf("round %d: no answer to the burst's last entry within 30 s of the restart", round)
		}

		if cartIdx != saved {
			t.Fatalf("round %d: stored cart is entry %d's, saved position entry %d's: want the two to agree", round, cartIdx, saved)
		}
		if saved < first-1 {
			t.Fatalf("round %d: saved position entry %d, before the run's first entry %d", round, saved, first)
		}
		dead := be.runResults(fmt.Sprintf("round %d killed run", round), runStart, killed)
		checkRun(t, fmt.Sprintf("round %d killed run", round), dead, first)
		answered := first - 1
		if len(dead) > 0 {
			answered = dead[len(dead)-1].entry
		}
		if answered > saved {
			t.Fatalf("round %d: entry %d answered but the disk holds entry %d: an ack before its write", round, answered, saved)
		}
		next := be.runResults(fmt.Sprintf("round %d restarted run", round), killed, end)
		checkRun(t, fmt.Sprintf("round %d restarted run", round), next, saved+1)
		if got := next[len(next)-1].entry; got != len(be.ids)-1 {
			t.Fatalf("round %d: restarted run ended at entry %d, want %d", round, got, len(be.ids)-1)
		}
		// Applied before the kill, answer lost with the process: the
		// entries between the last answer and the saved one.
		lost = append(lost, saved-answered)
		resumed = append(resumed, saved+1)
		runStart, first = killed, saved+1

		want := cartN(tag, len(be.ids)-1).Order
		if _, ok := ws[0].waitFor(20*time.Second, func(v client.View) bool {
			return v.Status == client.StatusLive && v.Cart.Order == want
		}); !ok {
			s, _ := ws[0].latest()
			t.Fatalf("round %d: display shows %q (%s), want %q", round, s.v.Cart.Order, s.v.Status, want)
		}
	}
	t.Logf("kill -9 ×%d under bursts of %d XADDs: restarted runs resumed at entries %v; entries applied before a kill whose answer died with it: %v",
		rounds, burst, resumed, lost)
}

// TestRedisLinkCut cuts the agent binary's link to Redis (a proxy drops
// every connection and refuses new ones) for 30 s (-chaos.long; 2 s in
// the short run) while the backend goes on writing 20 carts a second:
// /healthz turns degraded; after the link is back every entry is applied
// once, in order, and the display converges to the newest cart.
func TestRedisLinkCut(t *testing.T) {
	cut := 2 * time.Second
	if *long {
		cut = 30 * time.Second
	}
	const tag = "rc"
	srv := redistest.Start(t, redistest.Options{})
	proxy := redistest.NewProxy(t, srv.Addr)
	be := newRedisBackend(t, srv, tag)
	cfg := newAgentConfig(t)
	cfg.extra = redisSection(t, srv, proxy.Addr)
	a := startAgent(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	ws := watch(t, ctx, a.displayURL(), 1)
	t.Cleanup(cancel)

	if err := be.add(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := be.awaitResult("0-0", be.ids[0], 30*time.Second); !ok {
		t.Fatal("no answer to the first entry within 30 s")
	}
	write := func(d time.Duration) {
		tick := time.NewTicker(50 * time.Millisecond) // 20 carts/s
		defer tick.Stop()
		end := time.After(d)
		for {
			select {
			case <-tick.C:
				if err := be.add(ctx, len(be.ids)); err != nil {
					t.Fatalf("xadd: %v", err)
				}
			case <-end:
				return
			}
		}
	}
	write(time.Second)
	proxy.Cut()
	if _, ok := poll(ctx, 20*time.Second, func() bool { return redisState(a) == redisfeed.StateDegraded }); !ok {
		t.Fatalf("/healthz redis state %q during the cut, want %s", redisState(a), redisfeed.StateDegraded)
	}
	write(cut)
	proxy.Restore()
	restored := time.Now()
	last := be.ids[len(be.ids)-1]
	end, ok := be.awaitResult("0-0", last, 30*time.Second)
	if !ok {
		t.Fatalf("no answer to the last entry within 30 s of the link's return")
	}
	caughtUp := time.Since(restored)
	got := be.runResults("run", "0-0", end)
	checkRun(t, "run", got, 0)
	if n := len(got); n != len(be.ids) {
		t.Fatalf("%d entries answered, want %d", n, len(be.ids))
	}
	want := cartN(tag, len(be.ids)-1).Order
	if _, ok := ws[0].waitFor(20*time.Second, func(v client.View) bool {
		return v.Status == client.StatusLive && v.Cart.Order == want
	}); !ok {
		s, _ := ws[0].latest()
		t.Fatalf("display shows %q (%s), want %q", s.v.Cart.Order, s.v.Status, want)
	}
	if s := redisState(a); s != redisfeed.StateUp {
		t.Errorf("/healthz redis state %q after the link's return, want %s", s, redisfeed.StateUp)
	}
	t.Logf("link cut %v at 20 carts/s: %d entries, each applied once in order; link back → last entry answered in %v",
		cut, len(be.ids), caughtUp.Round(time.Millisecond))
}
