package pole_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/pole"
	"github.com/posdisplay/posdisplay/register/pole/poletest"
	"github.com/posdisplay/posdisplay/register/stream"
	"github.com/posdisplay/posdisplay/register/testenv"
)

// BenchmarkCartToWire measures a cart change (stream.Publish) until the
// pole's write to a real pty returns: rendering, encoding and the write
// system call, in process. A pty has no baud rate: the wire time of the
// bytes at 9600 baud (10 bits a byte with start and stop bits) is reported
// beside it, as wire-ms.
func BenchmarkCartToWire(b *testing.B) {
	pty, err := poletest.OpenPTY()
	if err != nil {
		testenv.Missing(b, "a pty", "%v", err)
	}
	defer pty.Close()
	go func() { // the display: read everything
		buf := make([]byte, 4096)
		for {
			if _, err := pty.Read(buf); err != nil {
				return
			}
		}
	}()
	writes := make(chan pole.Write, 1)
	p, err := pole.New(pole.Config{Name: "bench", Port: pole.PortConfig{Path: pty.Slave}, Locale: "de-DE"},
		pole.Options{Wrote: func(w pole.Write) { writes <- w }})
	if err != nil {
		b.Fatal(err)
	}
	st := stream.New("1", "e1", cart.Empty("1", "EUR"), 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, st) }()
	<-writes // welcome

	base := cart.Cart{Register: "1", Order: "A-1", Currency: "EUR", State: cart.StateOpen, Taxes: []cart.TaxLine{}}
	for i := range 30 {
		l := cart.Line{ID: string(rune('a' + i)), Title: "Bio-Vollmilch 3,8 % 1 L", Quantity: 1000, UnitPrice: 129, Total: 129}
		base.Lines = append(base.Lines, l)
		base.Subtotal += 129
	}
	lat := make([]time.Duration, 0, b.N)
	bytes := 0
	b.ResetTimer()
	for i := range b.N {
		c := base.Clone()
		last := &c.Lines[len(c.Lines)-1]
		last.Quantity = cart.Quantity(1000 * (1 + i%9))
		last.Total = 129 * cart.Money(1+i%9)
		c.Subtotal = base.Subtotal - 129 + last.Total
		c.Total = c.Subtotal
		start := time.Now()
		if _, err := st.Publish(c, start); err != nil {
			b.Fatal(err)
		}
		w := <-writes
		lat = append(lat, w.Done.Sub(start))
		bytes += w.Bytes
	}
	b.StopTimer()
	cancel()
	<-writes // offline
	<-done
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	perOp := float64(bytes) / float64(b.N)
	b.ReportMetric(perOp, "bytes/op")
	b.ReportMetric(perOp*10/9600*1000, "wire-ms")
}

// BenchmarkPublishWithStalledPole measures stream.Publish with a pole
// attached whose port never finishes a write, against no pole: the
// publisher (and so every WebSocket display behind it) must not pay for a
// slow pole.
func BenchmarkPublishWithStalledPole(b *testing.B) {
	for _, withPole := range []bool{false, true} {
		name := "no-pole"
		if withPole {
			name = "stalled-pole"
		}
		b.Run(name, func(b *testing.B) {
			st := stream.New("1", "e1", cart.Empty("1", "USD"), 16)
			display := stream.NewSub(1 << 20)
			if _, err := st.Subscribe(nil, display); err != nil {
				b.Fatal(err)
			}
			if withPole {
				port := &gatedPort{gate: make(chan struct{}), entered: make(chan struct{}, 1), closed: make(chan struct{})}
				p, err := pole.New(pole.Config{Name: "stalled"}, pole.Options{Open: func() (pole.Port, string, error) { return port, "gated", nil }})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- p.Run(ctx, st) }()
				<-port.entered
				defer func() {
					cancel()
					port.Close()
					<-done
				}()
			}
			carts := [2]cart.Cart{openCart("Milk", 199), openCart("Bread", 350)}
			b.ResetTimer()
			for i := range b.N {
				if _, err := st.Publish(carts[i%2], time.Now()); err != nil {
					b.Fatal(err)
				}
				if len(display.C) == cap(display.C) {
					display.Drain()
				}
			}
		})
	}
}
