package loadtest

import (
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

func TestHead(t *testing.T) {
	tests := []struct {
		in       string
		wantKind byte
		wantSeq  uint64
		wantOK   bool
	}{
		{`{"type":"delta","epoch":"00ff","seq":42,"ops":[]}`, 'd', 42, true},
		{`{"type":"snapshot","epoch":"00ff","seq":7,"cart":{}}`, 's', 7, true},
		{`{"type":"welcome","protocol":1,"seq":3}`, 0, 0, false},
		{`{"type":"delta","epoch":"00ff"}`, 0, 0, false},
		{`{"type":"delta","seq":}`, 'd', 0, false},
		{``, 0, 0, false},
	}
	for _, tt := range tests {
		kind, seq, ok := head([]byte(tt.in))
		if ok != tt.wantOK || (ok && (kind != tt.wantKind || seq != tt.wantSeq)) {
			t.Errorf("head(%s): got %c %d %v, want %c %d %v", tt.in, kind, seq, ok, tt.wantKind, tt.wantSeq, tt.wantOK)
		}
	}
}

func TestBatchSeqs(t *testing.T) {
	in := `{"type":"batch","deltas":[{"type":"delta","epoch":"00ff","seq":42,"ops":[{"op":"update","line":{"title":"a \"seq\":9"}}]},{"type":"delta","epoch":"00ff","seq":43,"ops":[]}]}`
	var got []uint64
	batchSeqs([]byte(in), func(seq uint64) { got = append(got, seq) })
	if len(got) != 2 || got[0] != 42 || got[1] != 43 {
		t.Errorf("batchSeqs: got %v, want [42 43]", got)
	}
}

func TestPercentile(t *testing.T) {
	sorted := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	tests := []struct {
		q    float64
		want int64
	}{{0.5, 5}, {0.99, 10}, {0.1, 1}, {1, 10}, {0, 1}}
	for _, tt := range tests {
		if got := percentile(sorted, tt.q); got != tt.want {
			t.Errorf("percentile(1..10, %v): got %d, want %d", tt.q, got, tt.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile(nil): got %d, want 0", got)
	}
}

// TestWorkload checks that every change decodes as a valid POS message and
// that its delta frame has the seq the harness expects.
func TestWorkload(t *testing.T) {
	w, err := Workload(500)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(w), 500; got != want {
		t.Fatalf("changes: got %d, want %d", got, want)
	}
	for i, c := range w {
		msg, perr := protocol.DecodePOS(c.POS)
		if perr != nil {
			t.Fatalf("change %d: POS message rejected: %v", i, perr)
		}
		if msg.Cart.Register != Register {
			t.Fatalf("change %d: register: got %q, want %q", i, msg.Cart.Register, Register)
		}
		kind, seq, ok := head(c.Delta)
		if !ok || kind != 'd' || seq != uint64(i+1) {
			t.Fatalf("change %d: delta head: got %c %d %v, want d %d true", i, kind, seq, ok, i+1)
		}
		if i > 0 {
			prev, _ := protocol.DecodePOS(w[i-1].POS)
			if cart.Equal(*prev.Cart, *msg.Cart) {
				t.Fatalf("change %d: equal to the change before", i)
			}
		}
	}
}

func TestSummarize(t *testing.T) {
	ms := int64(time.Millisecond)
	sent := []int64{10 * ms, 20 * ms}
	a := newRecord(2)
	a.see(0, 11*ms, false)
	a.see(1, 23*ms, true)
	b := newRecord(2)
	b.see(0, 12*ms, false)
	b.snapshots = 1
	var res Result
	summarize(&res, sent, []*record{a, b})
	if res.Deliveries != 3 || res.Lost != 1 || res.Covered != 1 || res.Resyncs != 1 {
		t.Errorf("counts: got deliveries %d lost %d covered %d resyncs %d, want 3 1 1 1", res.Deliveries, res.Lost, res.Covered, res.Resyncs)
	}
	if res.Max != 3*time.Millisecond || res.P50 != 2*time.Millisecond {
		t.Errorf("latency: got p50 %v max %v, want 2ms 3ms", res.P50, res.Max)
	}
	if res.AllP99 != 2*time.Millisecond { // change 1 is incomplete: only change 0 counts
		t.Errorf("all-p99: got %v, want 2ms", res.AllP99)
	}
}

// Merge pools the deliveries of its runs: the p99 of the pool, not the mean
// or the best of the runs' p99s.
func TestMerge(t *testing.T) {
	ms := int64(time.Millisecond)
	run := func(lats ...int64) Result {
		sent := make([]int64, len(lats))
		rec := newRecord(len(lats))
		for i, l := range lats {
			rec.see(i, l*ms, false)
		}
		res := Result{Impl: ImplAgent, Shape: "steady", Displays: 1, Changes: len(lats), CPU: time.Duration(len(lats)) * time.Second, PeakRSS: int64(len(lats))}
		summarize(&res, sent, []*record{rec})
		return res
	}
	// 100 fast deliveries, then a run whose every delivery is slow.
	fast := make([]int64, 100)
	for i := range fast {
		fast[i] = 1
	}
	got, err := Merge(run(fast...), run(9, 9))
	if err != nil {
		t.Fatal(err)
	}
	if got.Deliveries != 102 || got.Changes != 102 || got.Rounds != 2 {
		t.Errorf("counts: got deliveries %d changes %d rounds %d, want 102 102 2", got.Deliveries, got.Changes, got.Rounds)
	}
	if got.P50 != time.Millisecond || got.P99 != 9*time.Millisecond || got.Max != 9*time.Millisecond || got.AllP99 != 9*time.Millisecond {
		t.Errorf("latency: got p50 %v p99 %v max %v all-p99 %v, want 1ms 9ms 9ms 9ms", got.P50, got.P99, got.Max, got.AllP99)
	}
	if got.CPU != 51*time.Second || got.PeakRSS != 100 {
		t.Errorf("usage: got cpu %v peak %d, want the mean 51s and the highest 100", got.CPU, got.PeakRSS)
	}
	other := run(1)
	other.TLS = true
	if _, err := Merge(run(1), other); err == nil {
		t.Error("Merge of an agent and an agent+tls run: want an error")
	}
	if _, err := Merge(); err == nil {
		t.Error("Merge of nothing: want an error")
	}
}
