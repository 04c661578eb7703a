package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/posdisplay/posdisplay/register/agent"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/pole"
	"github.com/posdisplay/posdisplay/register/pole/poletest"
	"github.com/posdisplay/posdisplay/register/stream"
	"github.com/posdisplay/posdisplay/register/testenv"
)

// TestPoleTest runs pole-test against a pty standing in for the display
// and a running agent: the display shows the pattern, then the register's
// current line.
func TestPoleTest(t *testing.T) {
	pty, err := poletest.OpenPTY()
	if err != nil {
		testenv.Missing(t, "a pty", "%v", err)
	}
	defer pty.Close()
	const token = "pole-test-token-0123456789"
	cfg := agent.DefaultConfig()
	cfg.POS.Listen, cfg.Display.Listen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Display.Tokens = []string{token}
	cfg.State.Dir = t.TempDir()
	a, err := agent.New(cfg, slog.New(slog.DiscardHandler), agent.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	c := cart.Cart{Register: "1", Order: "A-1", Currency: "USD", State: cart.StateOpen, Taxes: []cart.TaxLine{},
		Lines: []cart.Line{{ID: "l1", Title: "Milk 1L", Quantity: 2000, UnitPrice: 199, Total: 398}}, Subtotal: 398, Total: 398}
	if _, err := a.Submit(c); err != nil {
		t.Fatal(err)
	}

	cp, _ := pole.LookupCodePage("cp437")
	emu := poletest.NewEmulator("epson", cp.Decode)
	wire := make(chan []byte)
	go func() {
		var all []byte
		b := make([]byte, 512)
		for {
			n, err := pty.Read(b)
			all = append(all, b[:n]...)
			if err != nil {
				wire <- all
				return
			}
			if bytes.Contains(all, []byte("$3.98")) {
				wire <- all
				return
			}
		}
	}()
	var out, errOut bytes.Buffer
	err = run(ctx, []string{"pole-test", "-hold", "0s", "-token", token, "-agent", "ws://" + a.DisplayAddr().String() + "/v1/display", pty.Slave}, &out, &errOut)
	if err != nil {
		t.Fatalf("pole-test: %v\n%s", err, errOut.String())
	}
	emu.Feed(<-wire)
	if err := emu.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("pole-test printed:\n%s\nthe display shows:\n%s", out.String(), emu)
	if got, want := emu.Lines(), [2]string{"2 x Milk 1L         ", "               $3.98"}; got != want {
		t.Errorf("display after pole-test: got %q, want %q", got, want)
	}
	for _, want := range []string{"posdisplay pole test", "12345678901234567890", "register 1 now (item"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("pole-test output lacks %q:\n%s", want, out.String())
		}
	}
}

// signalWriter collects output and signals when it contains want.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	hit  chan struct{}
	once sync.Once
}

func (w *signalWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.hit) })
	}
	return len(b), nil
}

// TestPoleEmulate: a pole on the emulator's link shows its screen in the
// emulator's output, framed as a reviewer reads it.
func TestPoleEmulate(t *testing.T) {
	probe, err := poletest.OpenPTY()
	if err != nil {
		testenv.Missing(t, "a pty", "%v", err)
	}
	probe.Close()
	link := filepath.Join(t.TempDir(), "pole")
	out := &signalWriter{want: "|Welcome!            |", hit: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := &signalWriter{want: "add to agent.toml", hit: make(chan struct{})}
	go func() {
		done <- run(ctx, []string{"pole-emulate", "-link", link}, io.MultiWriter(out, ready), io.Discard)
	}()
	<-ready.hit
	p, err := pole.New(pole.Config{Port: pole.PortConfig{Path: link}}, pole.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithCancel(ctx)
	pdone := make(chan error, 1)
	go func() { pdone <- p.Run(pctx, stream.New("1", "e", cart.Empty("1", "USD"), 4)) }()
	<-out.hit
	pcancel()
	<-pdone
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out.mu.Lock()
	t.Logf("emulator printed:\n%s", out.buf.String())
	out.mu.Unlock()
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("link left behind: %v", err)
	}
}
