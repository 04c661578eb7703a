package client_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/display/client/clienttest"
	"github.com/posdisplay/posdisplay/register/cart"
)

// BenchmarkLoopbackDelta measures one delta (a quantity change on a
// 200-line cart) from the agent's socket write to the View on Views(), over
// loopback, and reports p50/p99 of that latency.
func BenchmarkLoopbackDelta(b *testing.B) {
	srv := clienttest.NewServer(b)
	c, err := client.New(client.Options{Register: reg, Source: client.Static{URL: srv.URL}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	conn, err := srv.Accept(ctx)
	if err != nil {
		b.Fatal(err)
	}
	k := clienttest.Cart(reg, 200)
	if err := conn.Welcome(pos("e1", 0)); err != nil {
		b.Fatal(err)
	}
	if err := conn.Snapshot(pos("e1", 0), k); err != nil {
		b.Fatal(err)
	}
	waitFor := func(seq uint64) {
		for v := range c.Views() {
			if v.Status == client.StatusLive && v.Position.Seq == seq {
				return
			}
		}
	}
	waitFor(0)
	var lat []time.Duration
	seq := uint64(0)
	b.ResetTimer()
	for b.Loop() {
		next := k.Clone()
		i := int(seq % 200)
		q := 1 + int64(seq%7)
		next.Lines[i] = clienttest.Line(next.Lines[i].ID, next.Lines[i].Title, q, next.Lines[i].UnitPrice)
		next = clienttest.Totalled(next)
		ops := cart.Diff(k, next)
		seq++
		t0 := time.Now()
		if err := conn.Delta(pos("e1", seq), ops); err != nil {
			b.Fatal(err)
		}
		waitFor(seq)
		lat = append(lat, time.Since(t0))
		k = next
	}
	slices.Sort(lat)
	if n := len(lat); n > 0 {
		b.ReportMetric(float64(lat[n/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[n*99/100].Microseconds()), "p99-µs")
	}
}
