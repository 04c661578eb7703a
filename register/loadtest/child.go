package loadtest

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/posdisplay/posdisplay/register/agent"
	"github.com/posdisplay/posdisplay/register/tlsid"
)

// Environment of a child process.
const (
	// EnvChild selects the server a re-executed test binary runs:
	// "agent", "relay" or "poll".
	EnvChild = "POSDISPLAY_LOADTEST_CHILD"
	// EnvProfileDir, when set (in the parent's environment, which children
	// inherit), makes every child write cpu-NAME.pprof and heap-NAME.pprof
	// there.
	EnvProfileDir = "POSDISPLAY_LOADTEST_PROFILE_DIR"
	envName       = "POSDISPLAY_LOADTEST_NAME"
	envQueue      = "POSDISPLAY_LOADTEST_QUEUE_FRAMES"
	envTLS        = "POSDISPLAY_LOADTEST_TLS"
	envLimited    = "POSDISPLAY_LOADTEST_RATE_LIMITED"
	// EnvProfileExtra, with EnvProfileDir, adds comma-separated profiles
	// to the CPU and heap ones: "block" and "mutex" (block-NAME.pprof,
	// mutex-NAME.pprof, every event sampled) and "trace" (trace-NAME.out,
	// an execution trace of the whole run). Each costs the child CPU: use
	// them to explain a number, not to measure one.
	EnvProfileExtra = "POSDISPLAY_LOADTEST_PROFILE_EXTRA"
	// EnvAgentEnv adds space-separated KEY=VALUE pairs to the agent
	// child's environment only, to try runtime settings on the agent
	// (e.g. "GOGC=50 GOMEMLIMIT=24MiB") against untouched baselines.
	EnvAgentEnv = "POSDISPLAY_LOADTEST_AGENT_ENV"
)

// DisplayToken is the display token the agent child accepts.
const DisplayToken = "loadtest-display-token-0123456789"

// POSOrigin is the Origin the POS sender presents; it is in the agent's
// default allowlist.
const POSOrigin = "http://127.0.0.1"

// MaybeChild turns the current process into a server child when EnvChild is
// set, and then exits; otherwise it returns at once. Call it first thing in
// TestMain of any test binary that runs scenarios.
func MaybeChild() {
	kind := os.Getenv(EnvChild)
	if kind == "" {
		return
	}
	if err := runChild(kind, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// RaiseFileLimit lifts the soft RLIMIT_NOFILE to the hard limit: 1000
// displays need more than the usual 1024 descriptors on both sides.
func RaiseFileLimit() error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return fmt.Errorf("setrlimit: %w", err)
		}
	}
	return nil
}

// runChild serves kind on loopback, prints "READY posAddr displayAddr
// fingerprint" on out (fingerprint "-" without TLS), and stops when in
// reaches EOF (the parent closed our stdin or died).
func runChild(kind string, in io.Reader, out, errOut io.Writer) error {
	if err := RaiseFileLimit(); err != nil {
		return err
	}
	name := os.Getenv(envName)
	if name == "" {
		name = kind
	}
	profDir := os.Getenv(EnvProfileDir)
	if profDir != "" {
		runtime.MemProfileRate = 4096 // fine enough to see per-connection costs
		f, err := os.Create(filepath.Join(profDir, "cpu-"+name+".pprof"))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
		stop, err := startExtraProfiles(profDir, name, os.Getenv(EnvProfileExtra))
		if err != nil {
			return err
		}
		defer stop()
	}
	logger := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelWarn})).With("child", name)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	useTLS := os.Getenv(envTLS) == "1"
	var posAddr, dispAddr string
	fingerprint := "-"
	var wait func() error
	switch kind {
	case "agent":
		dir, err := os.MkdirTemp("", "loadtest-agent-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg := agent.DefaultConfig()
		cfg.Registers = []string{Register}
		cfg.AgentID = "loadtest"
		cfg.POS.Listen = "127.0.0.1:0"
		cfg.Display.Listen = "127.0.0.1:0"
		cfg.State.Dir = dir
		cfg.Display.Tokens = []string{DisplayToken}
		cfg.Display.TLS = useTLS
		// The default 50 messages/s (burst 100) per POS socket would
		// reject the burst of 500 by design; lift it to measure fan-out,
		// unless the scenario measures a burst the limit allows.
		if os.Getenv(envLimited) != "1" {
			cfg.POS.RateLimit, cfg.POS.RateBurst = 1e6, 1e6
		}
		if q := os.Getenv(envQueue); q != "" {
			n, err := strconv.Atoi(q)
			if err != nil {
				return fmt.Errorf("%s: %w", envQueue, err)
			}
			cfg.Display.QueueFrames = n
		}
		feed := childRedis(&cfg)
		a, err := agent.New(cfg, logger, agent.Options{})
		if err != nil {
			return err
		}
		posAddr, dispAddr = a.POSAddr().String(), a.DisplayAddr().String()
		if fp := a.Fingerprint(); fp != "" {
			fingerprint = fp
		}
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		if feed {
			if err := awaitFeed(a.Feed(), 15*time.Second); err != nil {
				cancel()
				<-done
				return err
			}
		}
		wait = func() error {
			select {
			case err := <-done:
				return err
			case <-time.After(10 * time.Second):
				return errors.New("agent did not stop within 10 s")
			}
		}
	case "relay", "poll":
		var h http.Handler
		if kind == "relay" {
			h = NewRelay().Handler()
		} else {
			h = NewPollServer().Handler()
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		lns := []net.Listener{ln}
		posAddr, dispAddr = ln.Addr().String(), ln.Addr().String()
		if useTLS {
			// Subscribers on a second listener with the agent's kind of
			// certificate and TLS settings; the publisher stays plain, as
			// the agent's POS listener does.
			dir, err := os.MkdirTemp("", "loadtest-tls-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			id, err := tlsid.LoadOrCreate(dir, tlsid.Options{})
			if err != nil {
				return err
			}
			tln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			lns = append(lns, tls.NewListener(tln, id.ServerConfig()))
			dispAddr, fingerprint = tln.Addr().String(), id.Fingerprint
		}
		done := make(chan error, len(lns))
		for _, l := range lns {
			go func() { done <- srv.Serve(l) }()
		}
		wait = func() error {
			// Hijacked WebSockets are not closed by Close; the process exit
			// ends them.
			_ = srv.Close()
			var errs []error
			for range lns {
				if err := <-done; !errors.Is(err, http.ErrServerClosed) {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		}
	default:
		return fmt.Errorf("%s=%q: want agent, relay or poll", EnvChild, kind)
	}
	if _, err := fmt.Fprintf(out, "READY %s %s %s\n", posAddr, dispAddr, fingerprint); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, bufio.NewReader(in)) // until the parent closes stdin
	if profDir != "" {
		// While the clients are still connected: in-use memory per display.
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms) // before the GC below: what the run left
		_ = os.WriteFile(filepath.Join(profDir, "mem-"+name+".txt"), fmt.Appendf(nil,
			"goroutines %d\nheap_alloc %d\nheap_inuse %d\nheap_sys %d\nstack_inuse %d\nsys %d\nnum_gc %d\nnext_gc %d\n",
			runtime.NumGoroutine(), ms.HeapAlloc, ms.HeapInuse, ms.HeapSys, ms.StackInuse, ms.Sys, ms.NumGC, ms.NextGC), 0o644)
		runtime.GC()
		f, err := os.Create(filepath.Join(profDir, "heap-"+name+".pprof"))
		if err == nil {
			_ = pprof.Lookup("heap").WriteTo(f, 0)
			_ = f.Close()
		}
	}
	cancel()
	return wait()
}

// startExtraProfiles starts the profiles EnvProfileExtra lists; stop
// writes them into dir.
func startExtraProfiles(dir, name, list string) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for _, f := range slices.Backward(stops) {
			f()
		}
	}
	for _, kind := range strings.Split(list, ",") {
		switch kind {
		case "":
		case "block", "mutex":
			if kind == "block" {
				runtime.SetBlockProfileRate(1)
			} else {
				runtime.SetMutexProfileFraction(1)
			}
			stops = append(stops, func() {
				if f, err := os.Create(filepath.Join(dir, kind+"-"+name+".pprof")); err == nil {
					_ = pprof.Lookup(kind).WriteTo(f, 0)
					_ = f.Close()
				}
			})
		case "trace":
			f, err := os.Create(filepath.Join(dir, "trace-"+name+".out"))
			if err != nil {
				stop()
				return nil, err
			}
			if err := trace.Start(f); err != nil {
				_ = f.Close()
				stop()
				return nil, err
			}
			stops = append(stops, func() { trace.Stop(); _ = f.Close() })
		default:
			stop()
			return nil, fmt.Errorf("%s: unknown profile %q (want block, mutex or trace)", EnvProfileExtra, kind)
		}
	}
	return stop, nil
}
