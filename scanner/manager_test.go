package scanner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/clock/clocktest"
	"github.com/posdisplay/posdisplay/register/configfile"
	"github.com/posdisplay/posdisplay/register/testenv"
	"github.com/posdisplay/posdisplay/scanner/scannertest"
	"go.bug.st/serial"
)

// waitFor polls cond until it holds; the bound only keeps a broken test
// from hanging, it is not a timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// started runs m in the background and returns the scans channel and a
// stop function that closes m and returns Run's error.
func started(t *testing.T, m *Manager) (<-chan Scan, func() error) {
	t.Helper()
	scans := make(chan Scan, 1000)
	errc := make(chan error, 1)
	go func() { errc <- m.Run(context.Background(), func(s Scan) { scans <- s }) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			m.Close()
			err = <-errc
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return scans, stop
}

func next(t *testing.T, scans <-chan Scan) Scan {
	t.Helper()
	select {
	case s := <-scans:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a scan")
		return Scan{}
	}
}

func noMore(t *testing.T, scans <-chan Scan) {
	t.Helper()
	select {
	case s := <-scans:
		t.Errorf("unexpected scan %q (raw %q)", s.Code, s.Raw)
	default:
	}
}

func stateOf(m *Manager, name string) Status {
	for _, s := range m.Status() {
		if s.Name == name {
			return s
		}
	}
	return Status{}
}

func fastOpts(t *testing.T, logs *syncBuffer) Options {
	return Options{Logger: testLogger(t, logs), MinBackoff: 2 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
}

// readCounter counts the bytes the manager read from its ports and wakes
// whoever waits for a total.
type readCounter struct {
	mu    sync.Mutex
	n     int
	moved chan struct{} // closed and replaced on every read
}

func newReadCounter() *readCounter { return &readCounter{moved: make(chan struct{})} }

func (c *readCounter) add(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += n
	close(c.moved)
	c.moved = make(chan struct{})
}

// wait returns once n bytes were read in all; the bound only keeps a
// broken test from hanging.
func (c *readCounter) wait(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		got, moved := c.n, c.moved
		c.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-moved:
		case <-timeout:
			t.Fatalf("read %d bytes, want %d", got, n)
		}
	}
}

// countedPort is a Port whose reads are counted; it keeps the read
// timeout of the port it wraps.
type countedPort struct {
	p Port
	c *readCounter
}

func (p *countedPort) Read(b []byte) (int, error) {
	n, err := p.p.Read(b)
	if n > 0 {
		p.c.add(n)
	}
	return n, err
}

func (p *countedPort) Close() error { return p.p.Close() }

func (p *countedPort) SetReadTimeout(d time.Duration) error {
	if rt, ok := p.p.(readTimeouter); ok {
		return rt.SetReadTimeout(d)
	}
	return nil
}

// TestSerialPTY runs a serial scanner through a real pty pair: not present
// at start, a scan, unplug in the middle of a scan, replug, a scan.
func TestSerialPTY(t *testing.T) {
	if _, err := os.Stat("/dev/ptmx"); err != nil {
		testenv.Missing(t, "a pty", "no /dev/ptmx: %v", err)
	}
	link := filepath.Join(t.TempDir(), "scanner")
	var logs syncBuffer
	var discards []Discard
	var dmu sync.Mutex
	opts := fastOpts(t, &logs)
	opts.OnDiscard = func(d Discard) { dmu.Lock(); discards = append(discards, d); dmu.Unlock() }
	read := newReadCounter()
	opts.OpenSerial = func(c SerialConfig) (Port, string, error) {
		p, dev, err := openSerial(c)
		if err != nil {
			return nil, "", err
		}
		return &countedPort{p: p, c: read}, dev, nil
	}
	m, err := NewManager([]Config{{Name: "lane1", Kind: KindSerial, Serial: SerialConfig{Path: link}}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	scans, stop := started(t, m)
	waitFor(t, "waiting state", func() bool { return stateOf(m, "lane1").State == StateWaiting && stateOf(m, "lane1").LastError != "" })

	p1, err := scannertest.OpenPTY()
	if err != nil {
		testenv.Missing(t, "a pty", "cannot open one here: %v", err)
	}
	defer p1.Close()
	if err := p1.Link(link); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "connected", func() bool { return stateOf(m, "lane1").State == StateConnected })
	if _, err := p1.Write([]byte("]E04006381333931\r\n")); err != nil { // first
		t.Fatal(err)
	}
	s := next(t, scans)
	if s.Code != "4006381333931" || s.Symbology != SymbologyEAN13 || s.Check != CheckValid || s.AIM != "]E0" ||
		s.Source != "lane1" || s.At.IsZero() || s.Timing != nil {
		t.Errorf("scan = %+v, want EAN-13 4006381333931 valid from lane1", s)
	}

	// Unplug mid-scan: the partial must never surface, alone or glued to
	// the next scan.
	const first, partial = "]E04006381333931\r\n", "]E0590123"
	p1.Write([]byte(partial))
	read.wait(t, len(first)+len(partial)) // the reader holds the partial
	p1.Close()
	waitFor(t, "waiting after unplug", func() bool { return stateOf(m, "lane1").State != StateConnected })

	p2, err := scannertest.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	if err := p2.Link(link); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "connected after replug", func() bool { return stateOf(m, "lane1").State == StateConnected })
	p2.Write([]byte("]E496385074\r"))
	s = next(t, scans)
	if s.Code != "96385074" || s.Symbology != SymbologyEAN8 || s.Check != CheckValid {
		t.Errorf("scan after replug = code %q sym %q check %q, want 96385074 ean-8 valid", s.Code, s.Symbology, s.Check)
	}
	if err := stop(); err != nil {
		t.Errorf("Run after Close = %v, want nil", err)
	}
	noMore(t, scans)

	st := stateOf(m, "lane1")
	if st.Scans != 2 {
		t.Errorf("status scans = %d, want 2", st.Scans)
	}
	dmu.Lock()
	if len(discards) != 1 || discards[0].Len != len(partial) {
		t.Errorf("discards: got %+v, want one of the %d-byte partial", discards, len(partial))
	}
	for _, d := range discards {
		if d.Reason != DiscardUnplugged {
			t.Errorf("discard reason %q, want %q", d.Reason, DiscardUnplugged)
		}
	}
	dmu.Unlock()
	out := logs.String()
	if got := strings.Count(out, "scanner connected"); got != 2 {
		t.Errorf("logged 'scanner connected' %d times, want 2", got)
	}
	// Dozens of retries happened while waiting; each state change is
	// logged once, not each retry.
	if got := strings.Count(out, "scanner waiting"); got < 2 || got > 3 {
		t.Errorf("logged 'scanner waiting' %d times, want 2 (start, unplug) or 3 (pty node lingering)", got)
	}
}

// TestSerialPTYLineSettings opens a pty with non-default line settings and
// CR-only framing.
func TestSerialPTYLineSettings(t *testing.T) {
	p, err := scannertest.OpenPTY()
	if err != nil {
		testenv.Missing(t, "a pty", "cannot open one here: %v", err)
	}
	defer p.Close()
	cfg := Config{Name: "s", Kind: KindSerial, StripPrefix: "\x02", StripSuffix: "\x03",
		Serial: SerialConfig{Path: p.Slave, Baud: 115200, Parity: "even", DataBits: 7, StopBits: "2", Terminator: TerminatorCR}}
	m, err := NewManager([]Config{cfg}, fastOpts(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	scans, stop := started(t, m)
	waitFor(t, "connected", func() bool { return stateOf(m, "s").State == StateConnected })
	p.Write([]byte("\x02]C1010950110153000317250101\x1d10AB\x03\r"))
	s := next(t, scans)
	if s.Code != "010950110153000317250101\x1d10AB" || s.Raw != "\x02]C1010950110153000317250101\x1d10AB\x03" ||
		s.Symbology != SymbologyGS1128 || len(s.GS1) != 3 || s.Check != CheckValid {
		t.Errorf("scan = %+v", s)
	}
	stop()
}

// TestIdleGapPTY frames by silence on a real pty.
func TestIdleGapPTY(t *testing.T) {
	p, err := scannertest.OpenPTY()
	if err != nil {
		testenv.Missing(t, "a pty", "cannot open one here: %v", err)
	}
	defer p.Close()
	cfg := Config{Name: "s", Kind: KindSerial, Serial: SerialConfig{Path: p.Slave, Terminator: TerminatorIdle, IdleGap: configfile.Duration(20 * time.Millisecond)}}
	m, err := NewManager([]Config{cfg}, fastOpts(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	scans, stop := started(t, m)
	waitFor(t, "connected", func() bool { return stateOf(m, "s").State == StateConnected })
	p.Write([]byte("LINE1\r\nLINE2"))
	if s := next(t, scans); s.Code != "LINE1\r\nLINE2" {
		t.Errorf("idle-framed code = %q, want %q", s.Code, "LINE1\r\nLINE2")
	}
	stop()
}

func TestManagerRetryStates(t *testing.T) {
	var logs syncBuffer
	var calls atomic.Int32
	port := scannertest.NewPort()
	opts := fastOpts(t, &logs)
	gate := make(chan struct{})
	opts.OpenSerial = func(SerialConfig) (Port, string, error) {
		n := calls.Add(1)
		switch {
		case n <= 3:
			return nil, "", ErrDeviceNotFound
		case n <= 6:
			return nil, "/dev/fake", &serial.PortError{}
		case n == 7:
			<-gate
		}
		return port, "/dev/fake", nil
	}
	m, err := NewManager([]Config{{Name: "s", Kind: KindSerial, Serial: SerialConfig{Path: "/dev/fake"}}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	scans, stop := started(t, m)
	waitFor(t, "error state", func() bool { return calls.Load() == 7 })
	if st := stateOf(m, "s"); st.State != StateError || st.LastError == "" {
		t.Errorf("status before connect = %+v, want error with last error", st)
	}
	close(gate)
	waitFor(t, "connected", func() bool { return stateOf(m, "s").State == StateConnected })
	port.Feed([]byte("abc\r"))
	if s := next(t, scans); s.Code != "abc" || s.Symbology != SymbologyUnknown {
		t.Errorf("scan = %+v", s)
	}
	stop()
	if !port.Closed() {
		t.Errorf("port not closed after Close")
	}
	out := logs.String()
	for msg, want := range map[string]int{"scanner waiting": 1, "scanner failing": 1, "scanner connected": 1} {
		if got := strings.Count(out, msg); got != want {
			t.Errorf("logged %q %d times, want %d", msg, got, want)
		}
	}
}

func TestManagerHIDFake(t *testing.T) {
	f, err := os.Open("testdata/keys/fr_scans.txt")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := scannertest.ParseEvents(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	dev := scannertest.NewEventDevice(evs)
	var opened atomic.Int32
	opts := fastOpts(t, nil)
	opts.OpenHID = func(h HIDConfig) (EventDevice, string, error) {
		if opened.Add(1) > 1 {
			return nil, "", ErrDeviceNotFound
		}
		return dev, "/dev/input/event9", nil
	}
	m, err := NewManager([]Config{{Name: "fr", Kind: KindHID, HID: HIDConfig{NameMatch: "scanner", Layout: "fr"}}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	scans, stop := started(t, m)
	want := []struct{ code, sym, check string }{
		{"HA112", SymbologyUnknown, CheckNotApplicable},
		{"4006381333931", SymbologyEAN13, CheckValid},
		{"010950110153000310AB1\x1d21XY", SymbologyGS1128, CheckValid},
		{"zaqmw-é&/.:_", SymbologyUnknown, CheckNotApplicable},
	}
	for _, w := range want {
		s := next(t, scans)
		if s.Code != w.code || s.Symbology != w.sym || s.Check != w.check || s.Source != "fr" || s.Timing == nil {
			t.Errorf("scan = code %q sym %q check %q source %q timing %v, want %q %q %q fr with timing",
				s.Code, s.Symbology, s.Check, s.Source, s.Timing, w.code, w.sym, w.check)
		}
		if s.Symbology == SymbologyGS1128 && len(s.GS1) != 3 {
			t.Errorf("GS1 elements = %v, want 01, 3103, 21... 3 elements", s.GS1)
		}
	}
	dev.Unplug()
	waitFor(t, "waiting after unplug", func() bool { return stateOf(m, "fr").State == StateWaiting })
	stop()
	noMore(t, scans)
}

func TestManagerLifecycle(t *testing.T) {
	cfg := []Config{{Name: "s", Kind: KindSerial, Serial: SerialConfig{Path: "/nonexistent/tty"}}}
	m, err := NewManager(cfg, fastOpts(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	m.Close()
	if err := m.Run(context.Background(), func(Scan) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}

	m, err = NewManager(cfg, fastOpts(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx, func(Scan) {}) }()
	waitFor(t, "waiting", func() bool { return stateOf(m, "s").LastError != "" })
	if err := m.Run(ctx, func(Scan) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("second Run = %v, want ErrClosed", err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel = %v, want context.Canceled", err)
	}
	m.Close()

	if _, err := NewManager([]Config{{Name: "bad"}}, Options{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("NewManager(bad) = %v, want ErrInvalidConfig", err)
	}
}

// TestManagerEmitSerialised checks that two scanners never call emit at
// the same time.
// Options.Clock stamps the states and the scans: a fake clock standing still
// stamps everything with its one instant.
func TestManagerClockStamps(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 14, 30, 0, 0, time.UTC)
	clk := clocktest.New(t0)
	port := scannertest.NewPort()
	opts := fastOpts(t, nil)
	opts.Clock = clk.Now
	opts.OpenSerial = func(s SerialConfig) (Port, string, error) { return port, s.Path, nil }
	m, err := NewManager([]Config{{Name: "a", Kind: KindSerial, Serial: SerialConfig{Path: "/dev/a"}}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st := stateOf(m, "a"); !st.Since.Equal(t0) {
		t.Errorf("new scanner: Since %v, want %v", st.Since, t0)
	}
	clk.Advance(time.Minute)
	scans, stop := started(t, m)
	port.Feed([]byte("4006381333931\r"))
	if s := next(t, scans); s.Code != "4006381333931" || !s.At.Equal(t0.Add(time.Minute)) {
		t.Errorf("scan %q at %v, want 4006381333931 at %v", s.Code, s.At, t0.Add(time.Minute))
	}
	if st := stateOf(m, "a"); st.State != StateConnected || !st.Since.Equal(t0.Add(time.Minute)) {
		t.Errorf("connected scanner: %s since %v, want connected since %v", st.State, st.Since, t0.Add(time.Minute))
	}
	stop()
	noMore(t, scans)
}

func TestManagerEmitSerialised(t *testing.T) {
	ports := map[string]*scannertest.Port{"/dev/a": scannertest.NewPort(), "/dev/b": scannertest.NewPort()}
	opts := fastOpts(t, nil)
	opts.OpenSerial = func(s SerialConfig) (Port, string, error) { return ports[s.Path], s.Path, nil }
	m, err := NewManager([]Config{
		{Name: "a", Kind: KindSerial, Serial: SerialConfig{Path: "/dev/a"}},
		{Name: "b", Kind: KindSerial, Serial: SerialConfig{Path: "/dev/b"}},
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	var inFlight, overlap atomic.Int32
	got := make(chan Scan, 1000)
	errc := make(chan error, 1)
	go func() {
		errc <- m.Run(context.Background(), func(s Scan) {
			if inFlight.Add(1) > 1 {
				overlap.Add(1)
			}
			time.Sleep(100 * time.Microsecond)
			inFlight.Add(-1)
			got <- s
		})
	}()
	const n = 100
	for i := 0; i < n; i++ {
		ports["/dev/a"].Feed([]byte("A\r"))
		ports["/dev/b"].Feed([]byte("B\r"))
	}
	for i := 0; i < 2*n; i++ {
		next(t, got)
	}
	m.Close()
	if err := <-errc; err != nil {
		t.Errorf("Run = %v", err)
	}
	if overlap.Load() != 0 {
		t.Errorf("emit overlapped %d times, want 0", overlap.Load())
	}
}

// TestTwoScannersNoLoss sends bursts from two pty scanners at once, as
// fast as the pty takes them: every scan arrives, in order per scanner.
func TestTwoScannersNoLoss(t *testing.T) {
	const n = 300
	var ptys [2]*scannertest.PTY
	var cfgs []Config
	for i := range ptys {
		p, err := scannertest.OpenPTY()
		if err != nil {
			testenv.Missing(t, "a pty", "cannot open one here: %v", err)
		}
		defer p.Close()
		ptys[i] = p
		cfgs = append(cfgs, Config{Name: fmt.Sprint("s", i), Kind: KindSerial, Serial: SerialConfig{Path: p.Slave}})
	}
	m, err := NewManager(cfgs, fastOpts(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	scans, stop := started(t, m)
	waitFor(t, "connected", func() bool {
		return stateOf(m, "s0").State == StateConnected && stateOf(m, "s1").State == StateConnected
	})
	var wg sync.WaitGroup
	for i, p := range ptys {
		wg.Go(func() {
			for k := 0; k < n; k++ {
				if _, err := fmt.Fprintf(p, "]E0%d\r", 1000000+i*n+k); err != nil {
					t.Errorf("write: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	next1 := map[string]int{"s0": 0, "s1": n}
	for k := 0; k < 2*n; k++ {
		s := next(t, scans)
		want := fmt.Sprint(1000000 + next1[s.Source])
		if s.Code != want {
			t.Fatalf("%s: got %q, want %q (lost or reordered)", s.Source, s.Code, want)
		}
		next1[s.Source]++
	}
	stop()
	noMore(t, scans)
}

// TestManagerHIDDiscards runs the shared-keyboard fixture through the
// Manager: typing and stale partials are reported, counted and never
// emitted.
func TestManagerHIDDiscards(t *testing.T) {
	f, err := os.Open("testdata/keys/us_typing.txt")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := scannertest.ParseEvents(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	dev := scannertest.NewEventDevice(evs)
	var mu sync.Mutex
	var discards []Discard
	opts := fastOpts(t, nil)
	opts.OpenHID = func(HIDConfig) (EventDevice, string, error) { return dev, "/dev/input/event4", nil }
	opts.OnDiscard = func(d Discard) { mu.Lock(); discards = append(discards, d); mu.Unlock() }
	no := false
	m, err := NewManager([]Config{{Name: "kbd", Kind: KindHID, HID: HIDConfig{Path: "/dev/input/event4", Grab: &no}}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	scans, stop := started(t, m)
	for _, want := range []string{"96385074", "5901234123457", "HA112"} {
		if s := next(t, scans); s.Code != want {
			t.Errorf("scan = %q, want %q", s.Code, want)
		}
	}
	waitFor(t, "events drained", func() bool { return dev.Pending() == 0 })
	stop()
	noMore(t, scans)
	st := stateOf(m, "kbd")
	if st.Scans != 3 || st.Discarded != 4 {
		t.Errorf("status scans %d discarded %d, want 3 and 4", st.Scans, st.Discarded)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(discards) != 4 || discards[0].Reason != DiscardTyping || discards[0].Len != 4 || discards[0].Timing == nil ||
		discards[0].Timing.MedianGap < 100*time.Millisecond {
		t.Errorf("discards = %+v, want typing of 4 keys first, with human gaps", discards)
	}
}

func TestManagerNoScannersBlocks(t *testing.T) {
	m, err := NewManager(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- m.Run(context.Background(), func(Scan) {}) }()
	waitFor(t, "Run started", func() bool { m.mu.Lock(); defer m.mu.Unlock(); return m.started })
	select {
	case err := <-errc:
		t.Fatalf("Run with no scanners returned %v before Close", err)
	case <-time.After(20 * time.Millisecond):
	}
	m.Close()
	if err := <-errc; err != nil {
		t.Errorf("Run = %v, want nil after Close", err)
	}
}
