package loadtest_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/posdisplay/posdisplay/register/loadtest"
	"github.com/posdisplay/posdisplay/register/redisfeed/redistest"
	"github.com/posdisplay/posdisplay/register/testlog"
)

func TestMain(m *testing.M) {
	loadtest.MaybeChild() // a server child never returns from here
	goleak.VerifyTestMain(m)
}

// TestScenarios runs each server kind once with a few displays and checks
// that the harness sees every change exactly once. It asserts no times.
func TestScenarios(t *testing.T) {
	steady, err := loadtest.Workload(20)
	if err != nil {
		t.Fatal(err)
	}
	burst, err := loadtest.Workload(60)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		impl, shape string
		tls         bool
		changes     []loadtest.Change
		rate        float64
		feed        string
		noBatches   bool
	}{
		{loadtest.ImplAgent, "steady", false, steady, 50, "", false},
		{loadtest.ImplAgent, "burst", false, burst, 0, "", false},
		{loadtest.ImplAgent, "burst", true, burst, 0, "", false},
		{loadtest.ImplAgent, "burst-nobatch", false, burst, 0, "", true},
		{loadtest.ImplAgent, "steady", false, steady, 50, loadtest.FeedRedis, false},
		{loadtest.ImplAgent, "burst", false, burst, 0, loadtest.FeedRediss, false},
		{loadtest.ImplRelay, "steady", false, steady, 50, "", false},
		{loadtest.ImplRelay, "burst", false, burst, 0, "", false},
		{loadtest.ImplRelay, "burst", true, burst, 0, "", false},
		{loadtest.ImplPoll, "burst", false, burst, 0, "", false},
		{loadtest.ImplAgentPoll, "steady", false, steady, 50, "", false},
		{loadtest.ImplAgentPoll, "burst", false, burst, 0, "", false},
	}
	for _, tt := range tests {
		sc := loadtest.Scenario{Impl: tt.impl, Shape: tt.shape, TLS: tt.tls, Displays: 3, Changes: tt.changes, Rate: tt.rate,
			Settle: 20 * time.Second, Stderr: testlog.Writer(t), Feed: tt.feed, NoBatches: tt.noBatches}
		t.Run(sc.Server()+"/"+tt.shape, func(t *testing.T) {
			const displays = 3
			sc.RedisAddr, sc.RedisCAFile = startRedis(t, tt.feed)
			res, err := loadtest.Run(t.Context(), sc)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rejected != 0 {
				t.Errorf("rejected: got %d, want 0", res.Rejected)
			}
			if res.Lost != 0 {
				t.Errorf("lost: got %d, want 0", res.Lost)
			}
			if got, want := res.Deliveries, displays*len(tt.changes); got != want {
				t.Errorf("deliveries: got %d, want %d", got, want)
			}
			if res.PeakRSS <= 0 || res.Elapsed <= 0 {
				t.Errorf("usage: got peak RSS %d and elapsed %v, want both > 0", res.PeakRSS, res.Elapsed)
			}
		})
	}
}

var rounds = flag.Int("rounds", 3, "BenchmarkFanout: runs of each scenario, alternating servers, pooled into one row")

// BenchmarkFanout measures POS change → delta at every display for the agent
// (plain, TLS, and up to 100 displays on its polling transport) and both baselines (the relay also plain and TLS), in a
// steady 50 changes/s and a burst of 500, with 1, 10, 100 and 1000 displays
// (-short: 1 and 10, a 2 s steady run, one round), reports each server's
// figures as metrics of its shape and display count, and prints them all as
// one table. Each scenario runs -rounds times, the servers taking turns
// within a round, and its rounds are pooled (see loadtest.Merge): a p99 of
// one 5 s run rests on its few slowest changes, which any other process on
// the machine can delay. Run it with -benchtime=1x.
func BenchmarkFanout(b *testing.B) {
	counts := []int{1, 10, 100, 1000}
	steadyFor := 5 * time.Second
	nRounds := *rounds
	if testing.Short() {
		counts = []int{1, 10}
		steadyFor = 2 * time.Second
		nRounds = 1
	}
	const rate = 50
	steady, err := loadtest.Workload(int(rate * steadyFor.Seconds()))
	if err != nil {
		b.Fatal(err)
	}
	burst, err := loadtest.Workload(500)
	if err != nil {
		b.Fatal(err)
	}
	allowed, err := loadtest.Workload(allowedBurst)
	if err != nil {
		b.Fatal(err)
	}
	// "burst100" is the burst a page may really send: 100 changes back to
	// back, with the agent's default POS rate limit kept (the other shapes
	// lift it). No display may need a snapshot for it. Only the WebSocket
	// rows fed by the POS socket, from 10 displays up.
	shapes := []struct {
		name    string
		changes []loadtest.Change
		rate    float64
		limited bool
	}{{"steady", steady, rate, false}, {"burst", burst, 0, false}, {"burst100", allowed, 0, true}}
	// Each relay runs just before the agent it is compared with. The
	// agent's display listener is TLS in the packaged configuration, so it
	// is measured both ways, each against a relay with the same transport.
	// The Redis rows are the agent fed by a backend's XADDs (plain and
	// TLS link, displays plain), against the same plain relay.
	servers := []struct {
		impl string
		tls  bool
		feed string
	}{
		{loadtest.ImplRelay, false, ""}, {loadtest.ImplAgent, false, ""},
		{loadtest.ImplAgent, false, loadtest.FeedRedis}, {loadtest.ImplAgent, false, loadtest.FeedRediss},
		{loadtest.ImplRelay, true, ""}, {loadtest.ImplAgent, true, ""},
		{loadtest.ImplPoll, false, ""},
	}
	// The agent's polling transport, beside its WebSocket rows, up to 100
	// displays (polling is the fallback of a few old tablets, not a way to
	// run a thousand screens).
	const maxPollDisplays = 100
	agentPoll := struct {
		impl string
		tls  bool
		feed string
	}{loadtest.ImplAgentPoll, false, ""}
	redisAddr, _ := startRedis(b, loadtest.FeedRedis)
	redissAddr, redissCA := startRedis(b, loadtest.FeedRediss)

	loadBefore := loadtest.LoadAvg()
	var rs []loadtest.Result
	for _, sh := range shapes {
		for _, n := range counts {
			servers := servers
			if n <= maxPollDisplays {
				servers = append(slices.Clone(servers), agentPoll)
			}
			if sh.limited {
				if n < 10 {
					continue
				}
				servers = slices.DeleteFunc(slices.Clone(servers), func(s struct {
					impl string
					tls  bool
					feed string
				}) bool {
					return s.feed != "" || (s.impl != loadtest.ImplAgent && s.impl != loadtest.ImplRelay)
				})
			}
			b.Run(fmt.Sprintf("shape=%s/displays=%d", sh.name, n), func(b *testing.B) {
				runs := make([][]loadtest.Result, len(servers))
				for range nRounds {
					for i, srv := range servers {
						sc := loadtest.Scenario{Impl: srv.impl, TLS: srv.tls, Shape: sh.name, Displays: n, Changes: sh.changes, Rate: sh.rate,
							RateLimited: sh.limited, Stderr: os.Stderr, QueueFrames: queueFrames(b), Feed: srv.feed, NoBatches: os.Getenv("POSDISPLAY_LOADTEST_BATCH") == "0"}
						switch srv.feed {
						case loadtest.FeedRedis:
							sc.RedisAddr = redisAddr
						case loadtest.FeedRediss:
							sc.RedisAddr, sc.RedisCAFile = redissAddr, redissCA
						}
						res, err := loadtest.Run(context.Background(), sc)
						if err != nil {
							b.Fatalf("%s: %v", sc.Name(), err)
						}
						runs[i] = append(runs[i], res)
					}
				}
				var here []loadtest.Result
				for i := range servers {
					res, err := loadtest.Merge(runs[i]...)
					if err != nil {
						b.Fatal(err)
					}
					here = append(here, res)
				}
				b.ReportMetric(0, "ns/op")
				for _, res := range here {
					p := res.Server() + "-"
					b.ReportMetric(ms(res.P50), p+"p50-ms")
					b.ReportMetric(ms(res.P99), p+"p99-ms")
					b.ReportMetric(ms(res.Max), p+"max-ms")
					b.ReportMetric(float64(res.Lost), p+"lost")
					b.ReportMetric(res.CPU.Seconds(), p+"cpu-s")
					b.ReportMetric(float64(res.PeakRSS)/(1<<20), p+"peak-rss-MB")
					if x := loadtest.RelayRatio(res, here); x > 0 && res.Impl != loadtest.ImplRelay {
						b.ReportMetric(x, p+"p99/relay")
					}
				}
				rs = append(rs, here...)
			})
		}
	}
	fmt.Printf("\nPOS change -> delta at every display (GOMAXPROCS=%d, %d round(s) per row, load average before %s, after %s)\n",
		runtime.GOMAXPROCS(0), nRounds, loadBefore, loadtest.LoadAvg())
	if err := loadtest.WriteTable(os.Stdout, rs); err != nil {
		b.Fatal(err)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// startRedis runs the redis-server a feed needs (none without a feed):
// TLS-only for rediss, AOF fsynced every second as in production.
func startRedis(tb testing.TB, feed string) (addr, caFile string) {
	o := redistest.Options{Args: []string{"--appendfsync", "everysec"}}
	switch feed {
	case loadtest.FeedRedis:
		return redistest.Start(tb, o).Addr, ""
	case loadtest.FeedRediss:
		srv, _, ca := redistest.StartTLS(tb, o)
		return srv.Addr, ca
	}
	return "", ""
}

// queueFrames lets a run try another agent display queue size:
// POSDISPLAY_LOADTEST_QUEUE=512 go test -bench ...
func queueFrames(b *testing.B) int {
	v := os.Getenv("POSDISPLAY_LOADTEST_QUEUE")
	if v == "" {
		return 0
	}
	var n int
	if _, err := fmt.Sscan(v, &n); err != nil {
		b.Fatalf("POSDISPLAY_LOADTEST_QUEUE=%q: %v", v, err)
	}
	return n
}

var (
	pairDisplays = flag.Int("pair-displays", 100, "BenchmarkBurstPair: displays")
	pairTLS      = flag.Bool("pair-tls", false, "BenchmarkBurstPair: displays over TLS (agent and relay)")
	pairRate     = flag.Float64("pair-rate", 0, "BenchmarkBurstPair: changes per second instead of a burst (250 changes)")
	pairImpl     = flag.String("pair-impl", loadtest.ImplAgent, "BenchmarkBurstPair: the agent's transport, agent or agent-poll")
	pairLimited  = flag.Bool("pair-limited", false, "BenchmarkBurstPair: a burst of 100 with the agent's default POS rate limit (BenchmarkFanout's burst100)")
)

// allowedBurst is the agent's default pos.rate_burst: the most changes a
// page may send back to back.
const allowedBurst = 100

// BenchmarkBurstPair runs only the burst of 500 (or -pair-rate: 250
// changes at that rate) against the relay and the agent, alternating,
// -rounds times, and prints each round's p99
// of both and their ratio: the quick A/B loop for the burst row of
// BenchmarkFanout (its ranges, not one pooled figure). With
// POSDISPLAY_LOADTEST_PROFILE_DIR each round's children overwrite the
// previous round's profiles: use -rounds=1 to profile.
func BenchmarkBurstPair(b *testing.B) {
	if *pairImpl != loadtest.ImplAgent && *pairImpl != loadtest.ImplAgentPoll {
		b.Fatalf("-pair-impl=%q: want %s or %s", *pairImpl, loadtest.ImplAgent, loadtest.ImplAgentPoll)
	}
	if *pairTLS && *pairImpl == loadtest.ImplAgentPoll {
		b.Fatalf("-pair-tls: the polling transport has no TLS variant here")
	}
	n, shape := 500, "burst"
	switch {
	case *pairRate > 0 && *pairLimited:
		b.Fatalf("-pair-rate and -pair-limited: choose one")
	case *pairRate > 0:
		n, shape = 250, "steady"
	case *pairLimited:
		n, shape = allowedBurst, "burst100"
	}
	burst, err := loadtest.Workload(n)
	if err != nil {
		b.Fatal(err)
	}
	loadBefore := loadtest.LoadAvg()
	var ratios []float64
	for r := range *rounds {
		var p99 [2]time.Duration
		var res [2]loadtest.Result
		for i, impl := range []string{loadtest.ImplRelay, *pairImpl} {
			sc := loadtest.Scenario{Impl: impl, Shape: shape, Displays: *pairDisplays, Changes: burst, TLS: *pairTLS, Rate: *pairRate, RateLimited: *pairLimited,
				Stderr: os.Stderr, QueueFrames: queueFrames(b), NoBatches: os.Getenv("POSDISPLAY_LOADTEST_BATCH") == "0"}
			res[i], err = loadtest.Run(context.Background(), sc)
			if err != nil {
				b.Fatalf("%s: %v", sc.Name(), err)
			}
			p99[i] = res[i].P99
		}
		x := float64(p99[1]) / float64(p99[0])
		ratios = append(ratios, x)
		fmt.Printf("round %d: relay p99 %.2f ms cpu %.3f s | agent p99 %.2f ms p50 %.2f ms cpu %.3f s covered %d lost %d | ratio %.2f | load %s | peak RSS relay %.1f agent %.1f MB\n",
			r, ms(p99[0]), res[0].CPU.Seconds(), ms(p99[1]), ms(res[1].P50), res[1].CPU.Seconds(), res[1].Covered, res[1].Lost, x, loadtest.LoadAvg(),
			float64(res[0].PeakRSS)/(1<<20), float64(res[1].PeakRSS)/(1<<20))
	}
	slices.Sort(ratios)
	fmt.Printf("%d displays, %d rounds: agent p99 / relay p99 from %.2f to %.2f (median %.2f); load before %s\n",
		*pairDisplays, len(ratios), ratios[0], ratios[len(ratios)-1], ratios[len(ratios)/2], loadBefore)
	b.ReportMetric(ratios[len(ratios)/2], "p99/relay-median")
	b.ReportMetric(0, "ns/op")
}
