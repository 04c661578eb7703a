package display

import (
	"runtime"
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"golang.org/x/sys/unix"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/register/cart"
)

// BenchmarkDelta200 applies one-line deltas to a 200-line cart on screen and
// reports the p99 time per View (target: under 2 ms in the test driver).
func BenchmarkDelta200(b *testing.B) {
	d, _, clock := newTestDisplay(b, fyne.NewSize(1024, 600), testConfig())
	base := bigCart(200)
	d.Show(live(base))
	const variants = 64
	views := make([]client.View, variants)
	for i := range views {
		c := base.Clone()
		j := 199 - i%8 // lines near the end, on screen as the cashier rings them up
		c.Lines[j].Quantity += cart.QuantityScale
		c.Lines[j].Total += c.Lines[j].UnitPrice
		c.Total += c.Lines[j].UnitPrice
		views[i] = live(c, c.Lines[j].ID)
	}
	var m meter
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		clock.Advance(100 * time.Millisecond)
		m.start()
		d.Show(views[i%variants])
		m.stop()
		i++
	}
	m.report(b)
}

// BenchmarkAppend200 adds a line to a 200-line cart: the list grows and
// scrolls to the new line.
func BenchmarkAppend200(b *testing.B) {
	d, _, clock := newTestDisplay(b, fyne.NewSize(1024, 600), testConfig())
	even, odd := bigCart(200), bigCart(201)
	d.Show(live(even))
	views := []client.View{live(odd, odd.Lines[200].ID), live(even)}
	var m meter
	i := 0
	for b.Loop() {
		clock.Advance(100 * time.Millisecond)
		m.start()
		d.Show(views[i%2])
		m.stop()
		i++
	}
	m.report(b)
}

// BenchmarkTickIdle is the cost of one Run tick on the idle screen.
func BenchmarkTickIdle(b *testing.B) {
	d, _, clock := newTestDisplay(b, fyne.NewSize(1024, 600), testConfig())
	d.Show(live(cart.Empty("r1", "USD")))
	for b.Loop() {
		clock.Advance(TickInterval)
		d.Tick()
	}
}

// meter samples wall time and this thread's CPU time per operation. On a
// shared machine the wall-time tail is mostly other processes; the CPU-time
// tail is the display's own work.
type meter struct {
	wall, cpu []time.Duration
	t0, c0    time.Duration
	locked    bool
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func (m *meter) start() {
	if !m.locked {
		runtime.LockOSThread() // thread CPU time needs one thread; unlocked in report
		m.locked = true
	}
	m.t0, m.c0 = time.Duration(time.Now().UnixNano()), threadCPU()
}

func (m *meter) stop() {
	m.wall = append(m.wall, time.Duration(time.Now().UnixNano())-m.t0)
	m.cpu = append(m.cpu, threadCPU()-m.c0)
}

func (m *meter) report(b *testing.B) {
	if m.locked {
		runtime.UnlockOSThread()
	}
	if len(m.wall) == 0 {
		return
	}
	at := func(s []time.Duration, p float64) float64 {
		return float64(s[min(len(s)-1, int(p*float64(len(s))))].Nanoseconds()) / 1e3
	}
	slices.Sort(m.wall)
	slices.Sort(m.cpu)
	b.ReportMetric(at(m.wall, 0.50), "p50-µs")
	b.ReportMetric(at(m.wall, 0.99), "p99-µs")
	b.ReportMetric(at(m.cpu, 0.50), "p50-cpu-µs")
	b.ReportMetric(at(m.cpu, 0.99), "p99-cpu-µs")
}
