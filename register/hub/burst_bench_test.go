package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/metrics"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/stream"
	"github.com/posdisplay/posdisplay/register/testlog"
)

// burstLen is the largest burst the default POS rate limit lets through
// (pos.rate_burst, docs/protocol.md "Limits").
const burstLen = 100

// BenchmarkBurstToDisplays publishes bursts of burstLen one-line changes
// to a 12-line cart and waits until every display (loopback WebSockets, in
// this process) has read the last one. It reports the time per change
// until the last display had it, and the snapshots displays needed (0: no
// display fell off its queue). Displays and agent share the CPUs, as in
// register/loadtest.
func BenchmarkBurstToDisplays(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("displays=%d", n), func(b *testing.B) { benchBurst(b, n) })
	}
}

func benchBurst(b *testing.B, displays int) {
	base := cart.Empty("1", "USD")
	base.State = cart.StateOpen
	for i := range 12 {
		base.Lines = append(base.Lines, cart.Line{ID: fmt.Sprint("l", i), Title: fmt.Sprint("Item number ", i), Quantity: 1000, UnitPrice: 100, Total: 100})
	}
	st := stream.New("1", "ep1", base, 256)
	m := metrics.New()
	h := New(map[string]*stream.Stream{"1": st}, tokens{"tok": "d"}, m, testlog.New(b, slog.LevelWarn), Options{})
	srv := httptest.NewServer(h)
	defer func() {
		_ = h.Close(context.Background())
		srv.Close()
	}()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")

	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	seen := make([]uint64, displays)
	var wg, ready sync.WaitGroup
	hello, _ := json.Marshal(protocol.Hello{Type: protocol.TypeHello, Register: "1", Token: "tok"})
	for i := range displays {
		ws, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer ws.Close()
		if err := ws.WriteMessage(websocket.TextMessage, hello); err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for {
				_, data, err := ws.ReadMessage()
				if err != nil {
					return
				}
				seq, ok := seqOf(data)
				if !ok {
					continue
				}
				mu.Lock()
				seen[i] = seq
				cond.Broadcast()
				mu.Unlock()
				if first { // its snapshot: the display is subscribed
					first = false
					ready.Done()
				}
			}
		}()
	}
	waitAll := func(seq uint64) {
		mu.Lock()
		defer mu.Unlock()
		for {
			all := true
			for _, s := range seen {
				if s < seq {
					all = false
					break
				}
			}
			if all {
				return
			}
			cond.Wait()
		}
	}
	ready.Wait()

	c := base.Clone()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var last uint64
	for i := range b.N {
		for j := range burstLen {
			l := &c.Lines[j%len(c.Lines)]
			l.Note = fmt.Sprint("change ", i, ".", j)
			res, err := st.Publish(c.Clone(), time.Now())
			if err != nil {
				b.Fatal(err)
			}
			last = res.Seq
		}
		waitAll(last)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(elapsed.Microseconds())/float64(b.N*burstLen), "µs/change")
	b.ReportMetric(testutil.ToFloat64(m.Resyncs.WithLabelValues("slow")), "snapshots")
	_ = h.Close(context.Background())
	wg.Wait()
}

var seqKey = []byte(`"seq":`)

// seqOf reads the seq of a snapshot or delta without decoding it all.
func seqOf(data []byte) (uint64, bool) {
	if !bytes.Contains(data[:min(len(data), 32)], []byte(`"delta"`)) && !bytes.Contains(data[:min(len(data), 32)], []byte(`"snapshot"`)) {
		return 0, false
	}
	i := bytes.Index(data, seqKey)
	if i < 0 {
		return 0, false
	}
	j := i + len(seqKey)
	k := j
	for k < len(data) && data[k] >= '0' && data[k] <= '9' {
		k++
	}
	n, err := strconv.ParseUint(string(data[j:k]), 10, 64)
	return n, err == nil
}
