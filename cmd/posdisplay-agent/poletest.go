package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/register/pole"
)

// poleTest writes a test pattern and then the current cart of a register
// to a pole display, for store IT installing one. It follows the register
// the way a display does (a display token is needed), so stop nothing: the
// agent keeps serving while the port is tested, as long as no [[pole]] of
// the running agent holds the same port.
func poleTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pole-test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	set := fs.String("command-set", "epson", "command set of the display: epson or cd5220")
	codePage := fs.String("code-page", "cp437", "code page of the display: cp437, cp858 or cp1252")
	baud := fs.Int("baud", pole.DefaultBaud, "bit rate")
	parity := fs.String("parity", "none", "parity: none, odd or even")
	locale := fs.String("locale", "en-US", "locale for money and texts")
	url := fs.String("agent", "ws://127.0.0.1:7422/v1/display", "display endpoint of the agent")
	register := fs.String("register", "1", "register whose cart is shown")
	token := fs.String("token", "", "display token (see display.tokens)")
	hold := fs.Duration("hold", 3*time.Second, "how long each test pattern screen stays")
	wait := fs.Duration("wait", 5*time.Second, "how long to wait for the agent's cart")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: posdisplay-agent pole-test [flags] PORT   (PORT: /dev/ttyUSB0, /dev/serial/by-id/...)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("pole-test: give the serial port, e.g. /dev/ttyUSB0")
	}
	cfg := pole.Config{Name: "pole-test", Port: pole.PortConfig{Path: fs.Arg(0), Baud: *baud, Parity: *parity},
		CommandSet: *set, CodePage: *codePage, Locale: *locale}
	p, err := pole.New(cfg, pole.Options{})
	if err != nil {
		return err
	}
	port, path, err := pole.OpenSerial(cfg.Port)
	if err != nil {
		return err
	}
	defer port.Close()
	cp := p.Renderer().CodePage()
	show := func(label string, s pole.Screen, init bool) error {
		out := p.Encode(nil, s)
		if init {
			out = append(p.Init(), out...)
		}
		if _, err := port.Write(out); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		t := s.Text(cp)
		fmt.Fprintf(stdout, "%s:\n  |%s|\n  |%s|\n", label, t[0], t[1])
		return nil
	}
	for i, s := range p.TestPattern() {
		if err := show(fmt.Sprintf("test pattern %d", i+1), s, i == 0); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*hold):
		}
	}

	v, err := currentView(ctx, *url, *register, *token, *wait, stderr)
	if err != nil {
		_ = show("register offline", p.Renderer().Offline(), false)
		return err
	}
	s, ev := p.Renderer().Render(nil, &v.Cart)
	return show(fmt.Sprintf("register %s now (%s, stream position %d)", *register, ev, v.Position.Seq), s, false)
}

// currentView follows the register like a display until its cart arrives.
func currentView(ctx context.Context, url, register, token string, wait time.Duration, stderr io.Writer) (client.View, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	views := make(chan client.View, 16)
	c, err := client.New(client.Options{Register: register, Token: token, Source: client.Static{URL: url},
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnView: func(v client.View) {
			select {
			case views <- v:
			default:
			}
		}})
	if err != nil {
		return client.View{}, err
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	var last client.View
	for {
		select {
		case v := <-views:
			last = v
			if v.HasCart && v.Status == client.StatusLive {
				return v, nil
			}
		case <-ctx.Done():
			return client.View{}, fmt.Errorf("no cart from %s for register %s within %v (status %s %s)", url, register, wait, last.Status, last.Err)
		}
	}
}
