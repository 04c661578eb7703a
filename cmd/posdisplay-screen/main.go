// Command posdisplay-screen is the fullscreen customer display. It finds its
// paired register over mDNS (or a configured address), pairs once by showing
// a code, and draws the live cart. See screen.toml.example for every option.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/posdisplay/posdisplay/display"
)

// start is when the process began, for the first-frame log line.
var start = time.Now()

func main() {
	// SIGTERM and SIGINT are handled by Fyne's driver, which ends the UI
	// loop; run then stops everything else.
	err := run(context.Background(), os.Args[1:], os.Stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "posdisplay-screen:", err)
		os.Exit(1)
	}
}

type options struct {
	cfg         fileConfig
	windowed    bool
	shotDir     string
	shotEvery   time.Duration
	unpair      bool
	logLevel    string
	windowTitle string
}

func parse(args []string, stderr io.Writer) (options, error) {
	o := options{cfg: defaultFileConfig(), windowTitle: "posdisplay"}
	sub := ""
	if len(args) > 0 && args[0] == "unpair" {
		sub, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("posdisplay-screen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: posdisplay-screen [flags]        show the customer display\n"+
			"       posdisplay-screen unpair [flags] forget the pairing and exit (no display needed)\n\nFlags:\n")
		fs.PrintDefaults()
	}
	path := fs.String("config", DefaultConfigPath, "config file (TOML); a missing default file means built-in defaults")
	fs.String("agent", "", "agent display endpoint, e.g. ws://127.0.0.1:7422/v1/display (skips pairing and discovery)")
	fs.String("register", "", "register to show (with -agent)")
	fs.String("token", "", "display token (with -agent)")
	fs.String("fingerprint", "", "pinned agent certificate fingerprint (with a wss:// -agent)")
	fs.String("fallback", "", "agent address to use when mDNS does not reach it")
	fs.String("state-dir", "", "where the pairing is kept")
	fs.BoolVar(&o.windowed, "windowed", false, "run in a window instead of fullscreen")
	fs.StringVar(&o.shotDir, "screenshot-dir", "", "save the screen as PNG files in this directory (headless demos)")
	fs.DurationVar(&o.shotEvery, "screenshot-every", 5*time.Second, "interval between screenshots")
	fs.BoolVar(&o.unpair, "unpair", false, "forget the pairing and exit, without opening a window (same as the unpair subcommand)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.unpair = o.unpair || sub == "unpair"
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unknown argument %q (the only subcommand is unpair)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if _, err := os.Stat(*path); err == nil || set["config"] {
		if err := loadConfig(*path, &o.cfg); err != nil {
			return o, err
		}
	}
	c := &o.cfg.Connection
	for name, dst := range map[string]*string{"agent": &c.AgentURL, "register": &c.Register, "token": &c.Token, "fingerprint": &c.Fingerprint, "fallback": &c.Fallback, "state-dir": &c.StateDir} {
		if set[name] {
			*dst = fs.Lookup(name).Value.String()
		}
	}
	return o, o.cfg.validate()
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	log.Info("screen starting", "version", version)

	if o.unpair {
		// Before anything of Fyne: store IT runs this over SSH, where
		// there is no display to initialise.
		return runUnpair(o, stderr)
	}

	a := app.NewWithID("org.posdisplay.screen")
	w := a.NewWindow(o.windowTitle)
	if o.windowed {
		w.Resize(fyne.NewSize(1024, 600))
	} else {
		w.SetFullScreen(true)
	}
	d, err := display.New(a, w, o.cfg.Config, log)
	if err != nil {
		return err
	}
	a.Lifecycle().SetOnStarted(func() {
		log.Info("first frame", "since_start", time.Since(start).Round(time.Millisecond), "fullscreen", w.FullScreen())
	})

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Stop feeding the UI as soon as Fyne stops it (for example on
	// SIGTERM, which Fyne handles itself). Its loop is then ending on its
	// own and must not be asked to quit: a late fyne.Do would run a.Quit
	// off the UI thread.
	var fyneStopped atomic.Bool
	a.Lifecycle().SetOnStopped(func() { fyneStopped.Store(true); cancel() })
	conn, err := newConnector(o, log, logCarts(log, d.Update))
	if err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		bg := make(chan error, 3)
		go func() { bg <- d.Run(ctx) }()
		go func() { bg <- conn.run(ctx) }()
		n := 2
		if o.shotDir != "" {
			n++
			go func() { bg <- screenshots(ctx, w, o.shotDir, o.shotEvery, log) }()
		}
		var first error
		for i := 0; i < n; i++ {
			if err := <-bg; err != nil && !errors.Is(err, context.Canceled) && first == nil {
				first = err
				log.Error("screen stopping", "err", err)
				cancel()
			}
		}
	}()
	// The UI loop ends either by Fyne itself (SIGTERM, SIGINT) or by this
	// goroutine when a part fails or the window manager closes the window.
	loopDone, quitter := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(quitter)
		select {
		case <-ctx.Done():
			if fyneStopped.Load() {
				return
			}
			select {
			case <-loopDone:
				return
			default:
			}
			fyne.Do(func() {
				// If Fyne's own signal handler ended the loop at this very
				// moment, Quit finds GLFW gone and panics; nothing is left
				// to stop then.
				defer func() { _ = recover() }()
				a.Quit()
			})
		case <-loopDone:
		}
	}()
	w.SetCloseIntercept(cancel)
	w.ShowAndRun()
	close(loopDone)
	cancel()
	<-quitter
	// The background parts stop on ctx; one caught inside a fyne.Do while
	// Fyne was shutting down may not come back, and must not keep a
	// stopped screen from exiting (systemd would then have to kill it).
	select {
	case <-done:
		log.Info("screen stopped")
	case <-time.After(shutdownGrace):
		log.Warn("screen stopped; a background part did not finish in time")
	}
	return nil
}

// runUnpair forgets the pairing and says what happens next.
func runUnpair(o options, stdout io.Writer) error {
	cn := o.cfg.Connection
	if cn.AgentURL != "" {
		return errors.New("unpair: this screen uses a configured agent and token (connection.agent_url), not a pairing; edit the config instead")
	}
	if err := unpair(cn.StateDir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pairing forgotten (%s); a running screen keeps its connection until it restarts, then shows a new code\n", cn.StateDir)
	return nil
}

// shutdownGrace bounds how long a stopping screen waits for its parts.
const shutdownGrace = 3 * time.Second

func hostName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "customer screen"
	}
	return strings.TrimSuffix(h, ".local")
}
