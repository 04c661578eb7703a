package metrics

import (
	"math"
	"sort"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Histogram is a Prometheus histogram that also takes many observations
// at once. A display's writer hands the socket a batch of deltas at one
// instant; observing each of them on a prometheus.Histogram (four atomic
// operations on cache lines that every writer shares) was 13% of the
// agent's CPU in a burst of 500 changes to 100 displays. A Tally collects
// a batch's observations on the writer's own stack, and Add applies them
// with one atomic operation per bucket that changed.
type Histogram struct {
	desc    *prometheus.Desc
	upper   []float64       // bucket upper bounds, ascending
	counts  []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sumBits atomic.Uint64   // float64 bits of the sum
}

// maxBuckets bounds a Histogram's buckets, so that a Tally fits in a
// fixed array.
const maxBuckets = 15

// NewHistogram returns a histogram with the given name, help and bucket
// upper bounds (ascending, at most maxBuckets).
func NewHistogram(name, help string, buckets []float64) *Histogram {
	if len(buckets) > maxBuckets || !sort.Float64sAreSorted(buckets) {
		panic("metrics: histogram buckets must be ascending and at most 15")
	}
	return &Histogram{
		desc:   prometheus.NewDesc(name, help, nil, nil),
		upper:  buckets,
		counts: make([]atomic.Uint64, len(buckets)+1),
	}
}

// Observe records one observation.
func (h *Histogram) Observe(v float64) {
	t := h.Tally()
	t.Observe(v)
	h.Add(&t)
}

// Tally returns an empty tally for h.
func (h *Histogram) Tally() Tally { return Tally{upper: h.upper} }

// Add applies what t collected and empties it.
func (h *Histogram) Add(t *Tally) {
	if t.n == 0 {
		return
	}
	for i, n := range t.counts[:len(h.counts)] {
		if n != 0 {
			h.counts[i].Add(n)
		}
	}
	for {
		old := h.sumBits.Load()
		if h.sumBits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+t.sum)) {
			break
		}
	}
	*t = Tally{upper: t.upper}
}

// Describe implements prometheus.Collector.
func (h *Histogram) Describe(ch chan<- *prometheus.Desc) { ch <- h.desc }

// Collect implements prometheus.Collector. The count is the sum of the
// buckets read, so the two always agree; the sum may lag them by an Add
// under way.
func (h *Histogram) Collect(ch chan<- prometheus.Metric) {
	cum := make(map[float64]uint64, len(h.upper))
	var n uint64
	for i, ub := range h.upper {
		n += h.counts[i].Load()
		cum[ub] = n
	}
	n += h.counts[len(h.upper)].Load()
	ch <- prometheus.MustNewConstHistogram(h.desc, n, math.Float64frombits(h.sumBits.Load()), cum)
}

// Tally collects observations for one Histogram.Add. It is not safe for
// concurrent use; keep one per goroutine (it is a value, meant for the
// stack).
type Tally struct {
	upper  []float64
	counts [maxBuckets + 1]uint64
	n      uint64
	sum    float64
}

// Observe records one observation in t.
func (t *Tally) Observe(v float64) {
	t.counts[sort.SearchFloat64s(t.upper, v)]++
	t.n++
	t.sum += v
}
