package loadtest_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/posdisplay/posdisplay/register/loadtest"
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
	}{
		{loadtest.ImplAgent, "steady", false, steady, 50},
		{loadtest.ImplAgent, "burst", false, burst, 0},
		{loadtest.ImplAgent, "burst", true, burst, 0},
		{loadtest.ImplRelay, "steady", false, steady, 50},
		{loadtest.ImplRelay, "burst", false, burst, 0},
		{loadtest.ImplRelay, "burst", true, burst, 0},
		{loadtest.ImplPoll, "burst", false, burst, 0},
	}
	for _, tt := range tests {
		sc := loadtest.Scenario{Impl: tt.impl, Shape: tt.shape, TLS: tt.tls, Displays: 3, Changes: tt.changes, Rate: tt.rate,
			Settle: 20 * time.Second, Stderr: testlog.Writer(t)}
		t.Run(sc.Server()+"/"+tt.shape, func(t *testing.T) {
			const displays = 3
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

// BenchmarkFanout measures POS change → delta at every display for the agent
// (plain and TLS) and both baselines (the relay also plain and TLS), in a steady 50 changes/s and a burst of 500, with 1,
// 10, 100 and 1000 displays (-short: 1 and 10, a 2 s steady run), reports
// each scenario's figures as metrics, and prints them all as one table.
// Run it with -benchtime=1x: each scenario runs once whatever b.N is.
func BenchmarkFanout(b *testing.B) {
	counts := []int{1, 10, 100, 1000}
	steadyFor := 5 * time.Second
	if testing.Short() {
		counts = []int{1, 10}
		steadyFor = 2 * time.Second
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
	shapes := []struct {
		name    string
		changes []loadtest.Change
		rate    float64
	}{{"steady", steady, rate}, {"burst", burst, 0}}
	// Each relay runs just before the agent it is compared with. The
	// agent's display listener is TLS by default, so it is measured both
	// ways, each against a relay with the same transport.
	servers := []struct {
		impl string
		tls  bool
	}{
		{loadtest.ImplRelay, false}, {loadtest.ImplAgent, false},
		{loadtest.ImplRelay, true}, {loadtest.ImplAgent, true},
		{loadtest.ImplPoll, false},
	}

	loadBefore := loadtest.LoadAvg()
	var (
		mu      sync.Mutex
		results = map[string]loadtest.Result{}
		order   []string
	)
	for _, sh := range shapes {
		for _, n := range counts {
			for _, srv := range servers {
				sc := loadtest.Scenario{Impl: srv.impl, TLS: srv.tls, Shape: sh.name, Displays: n, Changes: sh.changes, Rate: sh.rate,
					Stderr: os.Stderr}
				name := fmt.Sprintf("shape=%s/displays=%d/server=%s", sh.name, n, sc.Server())
				b.Run(name, func(b *testing.B) {
					sc.QueueFrames = queueFrames(b)
					res, err := loadtest.Run(context.Background(), sc)
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(0, "ns/op")
					b.ReportMetric(ms(res.P50), "p50-ms")
					b.ReportMetric(ms(res.P99), "p99-ms")
					b.ReportMetric(ms(res.Max), "max-ms")
					b.ReportMetric(ms(res.AllP99), "all-p99-ms")
					b.ReportMetric(float64(res.Lost), "lost")
					b.ReportMetric(float64(res.Resyncs), "resyncs")
					b.ReportMetric(res.CPU.Seconds(), "cpu-s")
					b.ReportMetric(float64(res.PeakRSS)/(1<<20), "peak-rss-MB")
					mu.Lock()
					defer mu.Unlock()
					if _, ok := results[name]; !ok {
						order = append(order, name)
					}
					results[name] = res
					if srv.impl != loadtest.ImplRelay {
						all := make([]loadtest.Result, 0, len(results))
						for _, r := range results {
							all = append(all, r)
						}
						if x := loadtest.RelayRatio(res, all); x > 0 {
							b.ReportMetric(x, "p99/relay")
						}
					}
				})
			}
		}
	}
	rs := make([]loadtest.Result, 0, len(order))
	for _, name := range order {
		rs = append(rs, results[name])
	}
	fmt.Printf("\nPOS change -> delta at every display (GOMAXPROCS=%d, load average before %s, after %s)\n",
		runtime.GOMAXPROCS(0), loadBefore, loadtest.LoadAvg())
	if err := loadtest.WriteTable(os.Stdout, rs); err != nil {
		b.Fatal(err)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

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
