package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/display"
	"github.com/posdisplay/posdisplay/register/agent"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/procstat"
	"github.com/posdisplay/posdisplay/register/testenv"
)

const childEnv = "POSDISPLAY_SCREEN_MAIN"

// TestMain lets a test run this binary's main in a child process.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startXvfb runs a virtual X server and returns its DISPLAY.
func startXvfb(t testing.TB, w, h int) string {
	t.Helper()
	if _, err := exec.LookPath("Xvfb"); err != nil {
		testenv.Missing(t, "Xvfb", "not installed (apt-get install xvfb); make test installs it")
	}
	r, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", w, h), "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{wr}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wr.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if err != nil {
		t.Fatalf("Xvfb did not report its display: %v", err)
	}
	return ":" + strings.TrimSpace(line)
}

// screen is the real binary's main, run in a child process against a real
// agent in a real (virtual) X server.
type screen struct {
	cmd    *exec.Cmd
	more   chan struct{} // signalled when a log line arrives
	exited chan struct{} // closed once the child has exited and its log is read
	err    error         // the child's exit, once exited is closed

	mu  sync.Mutex
	log []string // the child's log so far
}

func (s *screen) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// startScreen starts Xvfb at w x h, an agent showing c on register 1, and
// the screen on them: the binary bin, or with bin "" this test binary's
// main. extra are more screen flags. The cleanup kills whatever is still
// running.
func startScreen(tb testing.TB, bin string, w, h int, c cart.Cart, extra ...string) *screen {
	tb.Helper()
	disp := startXvfb(tb, w, h)

	cfg := agent.DefaultConfig()
	cfg.POS.Listen, cfg.Display.Listen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.State.Dir = tb.TempDir()
	cfg.Display.Tokens = []string{"screen-test-token-0001"}
	a, err := agent.New(cfg, slog.New(slog.DiscardHandler), agent.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-ran })
	if _, err := a.Submit(c); err != nil {
		tb.Fatal(err)
	}

	emptyConfig := filepath.Join(tb.TempDir(), "screen.toml")
	if err := os.WriteFile(emptyConfig, nil, 0o600); err != nil {
		tb.Fatal(err)
	}
	// The child runs main, which parses these flags as the screen's own.
	args := append([]string{"-agent", "ws://" + a.DisplayAddr().String() + "/v1/display", "-register", "1",
		"-token", "screen-test-token-0001", "-config", emptyConfig}, extra...)
	if bin == "" {
		bin = os.Args[0]
	}
	s := &screen{cmd: exec.Command(bin, args...), more: make(chan struct{}, 1), exited: make(chan struct{})}
	// Fyne keeps its preferences under the user's config directory: each
	// screen gets its own, so runs neither share nor touch the real one
	// (two screens saving one file raced Fyne's reload of it).
	s.cmd.Env = append(os.Environ(), childEnv+"=1", "DISPLAY="+disp, "LANG=en_US.UTF-8", "XDG_CONFIG_HOME="+tb.TempDir())
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logs, _ := s.cmd.StderrPipe()
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	// One goroutine reads the log to its end, then reaps the child.
	go func() {
		defer close(s.exited)
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			s.mu.Lock()
			s.log = append(s.log, sc.Text())
			s.mu.Unlock()
			select {
			case s.more <- struct{}{}:
			default:
			}
		}
		s.err = s.cmd.Wait()
	}()
	tb.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.exited
		if tb.Failed() {
			tb.Logf("screen log:\n%s", strings.Join(s.lines(), "\n"))
		}
	})
	return s
}

// started waits for the first frame and the live stream, in whichever order
// they come, and returns the first-frame line.
func (s *screen) started(tb testing.TB) string {
	tb.Helper()
	timeout := time.After(60 * time.Second)
	for {
		first, live := "", false
		for _, l := range s.lines() {
			if strings.Contains(l, `msg="first frame"`) {
				first = l
			}
			live = live || strings.Contains(l, "status=live")
		}
		if first != "" && live {
			return first
		}
		select {
		case <-s.more:
		case <-s.exited:
			tb.Fatalf("screen exited early: %v", s.err)
		case <-timeout:
			tb.Fatal("no first frame and live status in the screen's log")
		}
	}
}

// stop sends SIGTERM: the screen must exit cleanly within 20 s, with no
// error on its log.
func (s *screen) stop(tb testing.TB) {
	tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		tb.Fatal(err)
	}
	select {
	case <-s.exited:
		if s.err != nil {
			tb.Fatalf("screen exit after SIGTERM: %v", s.err)
		}
	case <-time.After(20 * time.Second):
		tb.Fatal("screen did not stop within 20 s of SIGTERM")
	}
	// Fyne reports UI calls from the wrong thread, and other faults, on
	// the log: a clean stop has none.
	for _, l := range s.lines() {
		if strings.Contains(l, "Fyne error") || strings.Contains(l, "Error in Fyne call thread") || strings.Contains(l, "level=ERROR") {
			tb.Errorf("screen log: %s", l)
		}
	}
}

// TestRealWindow starts the real binary in a real (virtual) X server against
// a real agent: it must go fullscreen, draw the live cart (not a blank
// frame), and stop cleanly on SIGTERM.
func TestRealWindow(t *testing.T) {
	const w, h = 1024, 600
	shots := t.TempDir()
	c := cart.Empty("1", "USD")
	c.State = cart.StateOpen
	c.Lines = []cart.Line{{ID: "a", Title: "Organic whole milk", Quantity: 2000, UnitPrice: 149, Total: 298}}
	c.Subtotal, c.Total = 298, 298
	s := startScreen(t, "", w, h, c, "-screenshot-dir", shots, "-screenshot-every", "300ms")
	if first := s.started(t); !strings.Contains(first, "fullscreen=true") {
		t.Fatalf("not fullscreen: %s", first)
	}

	// Screenshots of the canvas: full screen size, and not blank.
	deadline := time.Now().Add(30 * time.Second)
	for {
		img, err := readPNG(filepath.Join(shots, "latest.png"))
		if err == nil && img.Bounds().Dx() == w && img.Bounds().Dy() == h && colours(img) > 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no full-size, non-blank screenshot: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.stop(t)
}

var idleFor = flag.Duration("idle-for", 20*time.Second, "how long BenchmarkIdleWindow measures each idle screen")

// BenchmarkIdleWindow measures the real binary showing the idle (branding)
// screen in a real window under Xvfb with software GL, at the smallest and
// the largest supported size: CPU (percent of one core) over -idle-for, once
// the screen has gone quiet; resident memory then, and its peak; and cold
// start to first frame. It measures the binary as make build makes it, not
// this test binary (which also holds the agent). Run it with -benchtime 1x
// (make bench does).
func BenchmarkIdleWindow(b *testing.B) {
	tags := os.Getenv("SCREEN_TAGS")
	if tags == "" {
		tags = "gles,no_emoji" // the Makefile's
	}
	bin := filepath.Join(b.TempDir(), "posdisplay-screen")
	build := exec.Command("go", "build", "-tags", tags, "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	for _, size := range []struct{ w, h int }{{800, 480}, {1920, 1080}} {
		b.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(b *testing.B) {
			var cpu, rss, peak, first float64
			for range b.N {
				s := startScreen(b, bin, size.w, size.h, cart.Empty("1", "USD"))
				ff, err := time.ParseDuration(field(s.started(b), "since_start"))
				if err != nil {
					b.Fatalf("first frame line: %v", err)
				}
				first += float64(ff.Milliseconds())
				// Quiet: pacing has begun and startup garbage is returned.
				time.Sleep(display.QuietAfter + 3*time.Second)
				pid := s.cmd.Process.Pid
				u0, t0 := usage(b, pid), time.Now()
				time.Sleep(*idleFor)
				u1 := usage(b, pid)
				cpu += 100 * (u1.CPU - u0.CPU).Seconds() / time.Since(t0).Seconds()
				rss += float64(u1.RSS) / 1e6
				peak += float64(u1.PeakRSS) / 1e6
				s.stop(b)
			}
			n := float64(b.N)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(cpu/n, "cpu-%")
			b.ReportMetric(rss/n, "rss-MB")
			b.ReportMetric(peak/n, "peak-rss-MB")
			b.ReportMetric(first/n, "first-frame-ms")
		})
	}
}

// field returns key's value in a logfmt line.
func field(line, key string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

func usage(tb testing.TB, pid int) procstat.Usage {
	tb.Helper()
	u, err := procstat.Read(pid)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return png.Decode(io.Reader(f))
}

// colours counts distinct colours on a grid of samples: a blank or
// single-colour frame has one or two.
func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}
