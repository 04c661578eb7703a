package store

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
)

// BenchmarkDurableSave measures what a durable ack costs: the time from
// Save to its outcome (CommitDelay, then the write and fsyncs of
// atomicfile.Write), with one POS page sending one cart at a time
// ("serial"; "serial-write-only" without the CommitDelay, the disk's own
// share), and with many registers saving at once ("group", where one write
// covers every cart queued meanwhile). Run it on the target's storage:
// TMPDIR=/path.
func BenchmarkDurableSave(b *testing.B) {
	c := sample("1")
	for i := range 40 {
		c.Lines = append(c.Lines, cart.Line{ID: string(rune('b' + i)), Title: "Mineralwasser 1,5 l", Quantity: 1000, UnitPrice: 89, Total: 89})
	}
	c.Subtotal = 135 + 40*89
	c.Total = c.Subtotal
	for _, serial := range []struct {
		name  string
		delay time.Duration
	}{{"serial", CommitDelay}, {"serial-write-only", 0}} {
		b.Run(serial.name, func(b *testing.B) {
			s, err := Open(b.TempDir(), slog.New(slog.DiscardHandler), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			s.commitDelay = serial.delay
			var seq uint64
			for b.Loop() {
				seq++
				if err := <-s.Save(c, seq); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("group", func(b *testing.B) {
		s, err := Open(b.TempDir(), slog.New(slog.DiscardHandler), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		var seq, worst atomic.Int64
		b.SetParallelism(4) // 4 × GOMAXPROCS registers' pages at once
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n := seq.Add(1)
				start := time.Now()
				if err := <-s.Save(c, uint64(n)); err != nil {
					b.Error(err)
					return
				}
				if d := int64(time.Since(start)); d > worst.Load() {
					worst.Store(d)
				}
			}
		})
		b.ReportMetric(float64(worst.Load())/1e6, "max-ms")
	})
}
