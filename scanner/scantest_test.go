package scanner

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/testenv"
	"github.com/posdisplay/posdisplay/scanner/scannertest"
)

// lockedBuffer collects ScanTest output; read with String.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestScanTestPTY(t *testing.T) {
	p, err := scannertest.OpenPTY()
	if err != nil {
		testenv.Missing(t, "a pty", "cannot open one here: %v", err)
	}
	defer p.Close()
	var out lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	cfgs := []Config{{Name: "till", Kind: KindSerial, Serial: SerialConfig{Path: p.Slave}}}
	// Write only once the port is open and configured: bytes written
	// before that meet the pty's line discipline, not the scanner's.
	opened := make(chan struct{})
	var once sync.Once
	open := func(c SerialConfig) (Port, string, error) {
		port, dev, err := openSerial(c)
		if err == nil {
			once.Do(func() { close(opened) })
		}
		return port, dev, err
	}
	go func() { errc <- scanTest(ctx, &out, cfgs, Options{Logger: testLogger(t, nil), OpenSerial: open}) }()
	select {
	case <-opened:
	case <-time.After(10 * time.Second):
		t.Fatal("the port was never opened")
	}
	waitFor(t, "header", func() bool { return strings.Contains(out.String(), "scan-test: reading till (serial)") })
	p.Write([]byte("]C1010950110153000317250101\x1d10AB\r"))
	waitFor(t, "scan line", func() bool { return strings.Contains(out.String(), "gs1-128") })
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("ScanTest = %v, want nil after cancel", err)
	}
	got := out.String()
	for _, want := range []string{"till gs1-128 aim=]C1 check=valid", `code="010950110153000317250101\x1d10AB"`, "gs1=(01)09501101530003(17)250101(10)AB"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestScanTestBadConfig(t *testing.T) {
	var out lockedBuffer
	if err := ScanTest(context.Background(), &out, []Config{{Name: "x"}}, testLogger(t, nil)); err == nil {
		t.Errorf("ScanTest(bad config) = nil, want error")
	}
}

func TestFormatScanTiming(t *testing.T) {
	s := Scan{Source: "h", Symbology: SymbologyEAN8, SymbologyInferred: true, Check: CheckValid, Code: "96385074",
		Timing: &KeyTiming{Keys: 9, MinGap: time.Millisecond, MedianGap: 4 * time.Millisecond, MaxGap: 5 * time.Millisecond, Total: 32 * time.Millisecond}}
	got := FormatScan(s)
	for _, want := range []string{"h ean-8(inferred) check=valid", "keys=9 gap_min=1ms gap_median=4ms gap_max=5ms total=32ms"} {
		if !strings.Contains(got, want) {
			t.Errorf("FormatScan = %q, lacks %q", got, want)
		}
	}
	d := FormatDiscard(Discard{Source: "h", Reason: DiscardTyping, Len: 6, Timing: &KeyTiming{Keys: 7, MedianGap: 240 * time.Millisecond}})
	if !strings.Contains(d, "h discarded typing len=6") || !strings.Contains(d, "gap_median=240ms") {
		t.Errorf("FormatDiscard = %q", d)
	}
}
