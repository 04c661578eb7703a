package scanner

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/holoplot/go-evdev"
	"github.com/posdisplay/posdisplay/register/testenv"
	"github.com/posdisplay/posdisplay/scanner/scannertest"
)

// reportLatency reports p50/p99/max of ds in microseconds.
func reportLatency(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	b.ReportMetric(us(ds[len(ds)/2]), "p50-µs")
	b.ReportMetric(us(ds[len(ds)*99/100]), "p99-µs")
	b.ReportMetric(us(ds[len(ds)-1]), "max-µs")
}

// BenchmarkSerialLatency measures terminator received (the Read that
// returned it, Scan.At) to Scan emitted, through the Manager.
func BenchmarkSerialLatency(b *testing.B) {
	port := scannertest.NewPort()
	opts := Options{Logger: testLogger(b, nil), OpenSerial: func(SerialConfig) (Port, string, error) { return port, "/dev/fake", nil }}
	m, err := NewManager([]Config{{Name: "s", Kind: KindSerial, Serial: SerialConfig{Path: "/dev/fake"}}}, opts)
	if err != nil {
		b.Fatal(err)
	}
	lat := make(chan time.Duration, 1)
	errc := make(chan error, 1)
	go func() { errc <- m.Run(context.Background(), func(s Scan) { lat <- time.Since(s.At) }) }()
	scan := []byte("]C1010950110153000317250101\x1d10ABC123\r")
	ds := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		port.Feed(scan)
		ds = append(ds, <-lat)
	}
	b.StopTimer()
	m.Close()
	<-errc
	reportLatency(b, ds)
}

// BenchmarkSerialPTYLatency measures written into the pty master to Scan
// emitted: kernel tty layer, wake-up, framing, decoding.
func BenchmarkSerialPTYLatency(b *testing.B) {
	p, err := scannertest.OpenPTY()
	if err != nil {
		testenv.Missing(b, "a pty", "%v", err)
	}
	defer p.Close()
	m, err := NewManager([]Config{{Name: "s", Kind: KindSerial, Serial: SerialConfig{Path: p.Slave}}}, Options{Logger: testLogger(b, nil)})
	if err != nil {
		b.Fatal(err)
	}
	got := make(chan time.Time, 1)
	errc := make(chan error, 1)
	go func() { errc <- m.Run(context.Background(), func(s Scan) { got <- time.Now() }) }()
	for stateOf(m, "s").State != StateConnected {
		time.Sleep(time.Millisecond)
	}
	scan := []byte("]E04006381333931\r")
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		p.Write(scan)
		ds = append(ds, (<-got).Sub(t0))
	}
	b.StopTimer()
	m.Close()
	<-errc
	reportLatency(b, ds)
}

// BenchmarkHIDLatency measures the Enter key event (its timestamp, Scan.At)
// to Scan emitted, through the Manager and a fake evdev device.
func BenchmarkHIDLatency(b *testing.B) {
	dev := scannertest.NewEventDevice(nil)
	opts := Options{Logger: testLogger(b, nil), OpenHID: func(HIDConfig) (EventDevice, string, error) { return dev, "/dev/input/fake", nil }}
	m, err := NewManager([]Config{{Name: "h", Kind: KindHID, HID: HIDConfig{NameMatch: "x"}}}, opts)
	if err != nil {
		b.Fatal(err)
	}
	lat := make(chan time.Duration, 1)
	errc := make(chan error, 1)
	go func() { errc <- m.Run(context.Background(), func(s Scan) { lat <- time.Since(s.At) }) }()
	digits := []evdev.EvCode{evdev.KEY_4, evdev.KEY_0, evdev.KEY_0, evdev.KEY_6, evdev.KEY_3, evdev.KEY_8, evdev.KEY_1,
		evdev.KEY_3, evdev.KEY_3, evdev.KEY_3, evdev.KEY_9, evdev.KEY_3, evdev.KEY_1}
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now := time.Now()
		var evs []evdev.InputEvent
		for j, c := range digits {
			tv := syscall.NsecToTimeval(now.Add(time.Duration(j-len(digits)) * 2 * time.Millisecond).UnixNano())
			evs = append(evs, evdev.InputEvent{Time: tv, Type: evdev.EV_KEY, Code: c, Value: 1},
				evdev.InputEvent{Time: tv, Type: evdev.EV_KEY, Code: c, Value: 0})
		}
		now = time.Now()
		evs = append(evs, evdev.InputEvent{Time: syscall.NsecToTimeval(now.UnixNano()), Type: evdev.EV_KEY, Code: evdev.KEY_ENTER, Value: 1})
		dev.Push(evs...)
		ds = append(ds, <-lat)
	}
	b.StopTimer()
	m.Close()
	<-errc
	reportLatency(b, ds)
}

// BenchmarkTwoScanners20PerSecond: each iteration is one second of two
// serial scanners (real ptys) scanning 20 times a second each. Every scan
// must arrive, in order per scanner; lost scans are reported (want 0).
func BenchmarkTwoScanners20PerSecond(b *testing.B) {
	var ptys [2]*scannertest.PTY
	var cfgs []Config
	for i := range ptys {
		p, err := scannertest.OpenPTY()
		if err != nil {
			testenv.Missing(b, "a pty", "%v", err)
		}
		defer p.Close()
		ptys[i] = p
		cfgs = append(cfgs, Config{Name: fmt.Sprint("s", i), Kind: KindSerial, Serial: SerialConfig{Path: p.Slave}})
	}
	m, err := NewManager(cfgs, Options{Logger: testLogger(b, nil)})
	if err != nil {
		b.Fatal(err)
	}
	got := make(chan Scan, 1000)
	errc := make(chan error, 1)
	go func() { errc <- m.Run(context.Background(), func(s Scan) { got <- s }) }()
	for stateOf(m, "s0").State != StateConnected || stateOf(m, "s1").State != StateConnected {
		time.Sleep(time.Millisecond)
	}
	const perSecond = 20
	var lost, total int
	var ds []time.Duration
	sent := map[string]time.Time{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tick := time.NewTicker(time.Second / perSecond)
		for k := 0; k < perSecond; k++ {
			<-tick.C
			for s, p := range ptys {
				code := fmt.Sprintf("S%dI%dK%d", s, i, k)
				sent[code] = time.Now()
				p.Write([]byte(code + "\r"))
			}
		}
		tick.Stop()
		// Collect this second's scans; the bound only stops a lossy run.
		want := 2 * perSecond
		next := [2]int{}
		deadline := time.After(2 * time.Second)
	collect:
		for n := 0; n < want; n++ {
			select {
			case s := <-got:
				ds = append(ds, s.At.Sub(sent[s.Code]))
				var si, ii, k int
				fmt.Sscanf(s.Code, "S%dI%dK%d", &si, &ii, &k)
				if ii != i || k != next[si] {
					b.Errorf("scanner %d: got scan %q, want K%d (out of order or lost)", si, s.Code, next[si])
				}
				next[si] = k + 1
			case <-deadline:
				lost += want - n
				break collect
			}
		}
		total += want
	}
	b.StopTimer()
	m.Close()
	<-errc
	b.ReportMetric(float64(lost), "lost")
	b.ReportMetric(float64(total)/float64(b.N), "scans/op")
	reportLatency(b, ds)
	if lost > 0 {
		b.Errorf("lost %d of %d scans", lost, total)
	}
}

func BenchmarkDecodeGS1(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Decode("]C1010950110153000317250101\x1d10ABC123\x1d21XYZ")
	}
}

func BenchmarkDecodeEAN13(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Decode("]E04006381333931")
	}
}
