package main

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/agent"
	"github.com/posdisplay/posdisplay/register/cart"
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
func startXvfb(t *testing.T, w, h int) string {
	t.Helper()
	if _, err := exec.LookPath("Xvfb"); err != nil {
		t.Skip("Xvfb is not installed (apt-get install xvfb); make test installs it")
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

// TestRealWindow starts the real binary in a real (virtual) X server against
// a real agent: it must go fullscreen, draw the live cart (not a blank
// frame), and stop cleanly on SIGTERM.
func TestRealWindow(t *testing.T) {
	const w, h = 1024, 600
	disp := startXvfb(t, w, h)

	cfg := agent.DefaultConfig()
	cfg.POS.Listen, cfg.Display.Listen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.State.Dir = t.TempDir()
	cfg.Display.Tokens = []string{"screen-test-token-0001"}
	a, err := agent.New(cfg, slog.New(slog.DiscardHandler), agent.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	defer func() { cancel(); <-ran }()
	c := cart.Empty("1", "USD")
	c.State = cart.StateOpen
	c.Lines = []cart.Line{{ID: "a", Title: "Organic whole milk", Quantity: 2000, UnitPrice: 149, Total: 298}}
	c.Subtotal, c.Total = 298, 298
	if _, err := a.Submit(c); err != nil {
		t.Fatal(err)
	}

	shots := t.TempDir()
	emptyConfig := filepath.Join(t.TempDir(), "screen.toml")
	if err := os.WriteFile(emptyConfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The child runs main, which parses these flags as the screen's own.
	child := exec.Command(os.Args[0],
		"-agent", "ws://"+a.DisplayAddr().String()+"/v1/display", "-register", "1", "-token", "screen-test-token-0001",
		"-config", emptyConfig, "-screenshot-dir", shots, "-screenshot-every", "300ms")
	child.Env = append(os.Environ(), childEnv+"=1", "DISPLAY="+disp, "LANG=en_US.UTF-8")
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logs, _ := child.StderrPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	logc := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			logc <- sc.Text()
		}
		close(logc)
	}()
	var log []string
	defer func() {
		if t.Failed() {
			t.Logf("screen log:\n%s", strings.Join(log, "\n"))
		}
	}()
	// Wait for the first frame (fullscreen) and the live stream, in
	// whichever order they come.
	var first string
	live := false
	timeout := time.After(60 * time.Second)
	for first == "" || !live {
		select {
		case l, ok := <-logc:
			if !ok {
				t.Fatal("screen exited early")
			}
			log = append(log, l)
			if strings.Contains(l, `msg="first frame"`) {
				first = l
			}
			live = live || strings.Contains(l, "status=live")
		case <-timeout:
			t.Fatal("no first frame and live status in the screen's log")
		}
	}
	if !strings.Contains(first, "fullscreen=true") {
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
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest := make(chan []string, 1)
	go func() {
		var ls []string
		for l := range logc {
			ls = append(ls, l)
		}
		rest <- ls
	}()
	exited := make(chan error, 1)
	go func() { err := child.Wait(); log = append(log, <-rest...); exited <- err }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("screen exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		child.Process.Kill()
		t.Fatal("screen did not stop within 20 s of SIGTERM")
	}
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
