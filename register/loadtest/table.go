package loadtest

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// implOrder sorts a slice's rows: the agent (plain, TLS, through Redis,
// polling transport), then the relay (plain, TLS), then AJAX polling.
var implOrder = map[string]int{ImplAgent: 0, ImplAgentPoll: 6, ImplRelay: 10, ImplPoll: 20}

// feedOrder puts the Redis rows right after the agent's plain and TLS rows.
var feedOrder = map[string]int{"": 0, FeedRedis: 2, FeedRediss: 4}

func serverRank(r Result) int {
	rank := implOrder[r.Impl] + feedOrder[r.Feed]
	if r.TLS {
		rank++
	}
	return rank
}

// Server is the result's server label, as Scenario.Server.
func (r Result) Server() string { return serverLabel(r.Impl, r.Feed, r.TLS) }

// RelayRatio returns r's p99 divided by the p99 of the relay with the same
// TLS setting, shape and display count among rs (the plain relay for
// polling), or 0 when rs has no such relay result.
func RelayRatio(r Result, rs []Result) float64 {
	for _, x := range rs {
		if x.Impl == ImplRelay && x.TLS == r.TLS && x.Shape == r.Shape && x.Displays == r.Displays && x.P99 > 0 {
			return float64(r.P99) / float64(x.P99)
		}
	}
	return 0
}

// WriteTable writes rs as one aligned table, sorted by shape (in order of
// first appearance), display count and server kind, with every row's p99 as
// a ratio to the bare relay's p99 in the same shape and display count.
func WriteTable(w io.Writer, rs []Result) error {
	shapeOrder := map[string]int{}
	for _, r := range rs {
		if _, ok := shapeOrder[r.Shape]; !ok {
			shapeOrder[r.Shape] = len(shapeOrder)
		}
	}
	rows := slices.Clone(rs)
	slices.SortStableFunc(rows, func(a, b Result) int {
		return cmp.Or(cmp.Compare(shapeOrder[a.Shape], shapeOrder[b.Shape]), cmp.Compare(a.Displays, b.Displays),
			cmp.Compare(serverRank(a), serverRank(b)))
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "shape\tdisplays\tserver\tchanges\tp50 ms\tp99 ms\tmax ms\tall-p99 ms\tp99/relay\tlost\tvia snapshot\tresyncs\tcpu s\tpeak RSS MB\t")
	for _, r := range rows {
		ratio := "-"
		if x := RelayRatio(r, rs); x > 0 && r.Impl != ImplRelay {
			ratio = fmt.Sprintf("%.2fx", x)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%.2f\t%.1f\t\n",
			r.Shape, r.Displays, r.Server(), r.Changes, ms(r.P50), ms(r.P99), ms(r.Max), ms(r.AllP99), ratio,
			r.Lost, r.Covered, r.Resyncs, r.CPU.Seconds(), float64(r.PeakRSS)/(1<<20))
	}
	return tw.Flush()
}

// LoadAvg returns the machine's 1, 5 and 15 minute load averages from
// /proc/loadavg, to print next to the results: other work on the cores
// shows up in every latency.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	if v >= 10 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
