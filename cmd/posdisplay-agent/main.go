// Command posdisplay-agent runs on the register terminal: it takes cart
// events from the POS page, keeps each register's cart and streams it to the
// customer displays. See docs/protocol.md and packaging/agent/agent.toml.
package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/posdisplay/posdisplay/register/agent"
	"github.com/posdisplay/posdisplay/register/storecert"
	"github.com/posdisplay/posdisplay/register/tlsid"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "posdisplay-agent:", err)
		os.Exit(1)
	}
}

// command is one subcommand of posdisplay-agent.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands are the subcommands, in the order -h lists them. The man page's
// SYNOPSIS and docs/install.md are checked against this list.
var commands = []command{
	{"serve", "[flags]", "run the agent (the default without a subcommand)", func(ctx context.Context, args []string, _, stderr io.Writer) error {
		return serve(ctx, args, stderr)
	}},
	{"selfcheck", "[flags]", "check the config, state directory and listeners; non-zero exit on a problem", func(_ context.Context, args []string, stdout, stderr io.Writer) error {
		return selfcheck(args, stdout, stderr)
	}},
	{"version", "", "print the version", func(_ context.Context, _ []string, stdout, _ io.Writer) error {
		fmt.Fprintln(stdout, "posdisplay-agent", agent.Version)
		return nil
	}},
	{"watch", "[flags]", "show a register's cart as a display sees it", watch},
	{"pair", "[-register ID] CODE", "approve the pairing code a screen shows", pairCmd},
	{"displays", "list|revoke|forget|add ...", "list; revoke ID; forget ID (gone); add NAME (web display)", displaysCmd},
	{"scanners", "", "list serial ports and input devices that look like barcode scanners", listScanners},
	{"scan-test", "[flags]", "print what the configured scanners read", scanTest},
	{"pole-test", "[flags] PORT", "write a test pattern, then the live cart, to a pole display", poleTest},
	{"pole-emulate", "[flags]", "emulate a 2x20 pole display on a pty (demos, no hardware)", poleEmulate},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: posdisplay-agent [COMMAND] [ARGS]   (without a command: serve)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-13s %-28s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "\nRun `posdisplay-agent COMMAND -h` for a command's flags; see posdisplay-agent(8).")
}

// run dispatches subcommands; with none it serves.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help", "help":
			usage(stdout)
			return flag.ErrHelp
		}
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, rest := args[0], args[1:]
		for _, c := range commands {
			if c.name == cmd {
				return c.run(ctx, rest, stdout, stderr)
			}
		}
		names := make([]string, len(commands))
		for i, c := range commands {
			names[i] = c.name
		}
		return fmt.Errorf("unknown command %q (want one of %s; -h lists them)", cmd, strings.Join(names, ", "))
	}
	return serve(ctx, args, stderr)
}

// configFlags binds the flags shared by serve and selfcheck; after parsing,
// load applies the file then the flags that were set.
type configFlags struct {
	fs                           *flag.FlagSet
	path                         string
	posListen, dispListen        string
	stateDir, logLevel           string
	registers, origins           string
	displayTokens                string
	demo, demoPage, allowMissing bool
}

func newConfigFlags(name string, stderr io.Writer) *configFlags {
	c := &configFlags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	c.fs.SetOutput(stderr)
	c.fs.StringVar(&c.path, "config", agent.DefaultConfigPath, "config file (TOML); a missing default file means built-in defaults")
	c.fs.StringVar(&c.posListen, "pos-listen", "", "POS listener address (overrides pos.listen)")
	c.fs.StringVar(&c.dispListen, "display-listen", "", "display listener address (overrides display.listen)")
	c.fs.StringVar(&c.stateDir, "state-dir", "", "state directory (overrides state.dir)")
	c.fs.StringVar(&c.logLevel, "log-level", "", "debug, info, warn or error (overrides log_level)")
	c.fs.StringVar(&c.registers, "registers", "", "comma-separated register ids (overrides registers)")
	c.fs.StringVar(&c.origins, "allow-origin", "", "comma-separated allowed POS page origins (overrides pos.allowed_origins)")
	c.fs.StringVar(&c.displayTokens, "display-tokens", "", "comma-separated static display tokens (overrides display.tokens)")
	c.fs.BoolVar(&c.demo, "demo", false, "run the simulated cashier on the first register")
	c.fs.BoolVar(&c.demoPage, "demo-page", false, "serve the demo cashier page at /demo/ on the POS listener")
	c.fs.BoolVar(&c.allowMissing, "allow-missing-origin", false, "accept POS sockets without an Origin header")
	return c
}

func (c *configFlags) load() (agent.Config, error) {
	cfg := agent.DefaultConfig()
	set := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if _, err := os.Stat(c.path); err == nil || set["config"] {
		var err error
		if cfg, err = agent.LoadConfig(c.path); err != nil {
			return cfg, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return cfg, err
	}
	if set["pos-listen"] {
		cfg.POS.Listen = c.posListen
	}
	if set["display-listen"] {
		cfg.Display.Listen = c.dispListen
	}
	if set["state-dir"] {
		cfg.State.Dir = c.stateDir
	}
	if set["log-level"] {
		cfg.LogLevel = c.logLevel
	}
	if set["registers"] {
		cfg.Registers = splitList(c.registers)
	}
	if set["allow-origin"] {
		cfg.POS.AllowedOrigins = splitList(c.origins)
	}
	if set["display-tokens"] {
		cfg.Display.Tokens = splitList(c.displayTokens)
	}
	if set["demo"] {
		cfg.Demo.Cashier = c.demo
	}
	if set["demo-page"] {
		cfg.Demo.Page = c.demoPage
	}
	if set["allow-missing-origin"] {
		cfg.POS.AllowMissingOrigin = c.allowMissing
	}
	return cfg, cfg.Validate()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func newLogger(cfg agent.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	o := &slog.HandlerOptions{Level: lvl}
	if cfg.LogJSON {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	cf := newConfigFlags("serve", stderr)
	if err := cf.fs.Parse(args); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	if err := refuseRootOnServiceState(cfg.State.Dir, os.Geteuid()); err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	a, err := agent.New(cfg, logger, agent.Options{})
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

func selfcheck(args []string, stdout, stderr io.Writer) error {
	cf := newConfigFlags("selfcheck", stderr)
	if err := cf.fs.Parse(args); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return fmt.Errorf("selfcheck: %w", err)
	}
	if err := os.MkdirAll(cfg.State.Dir, 0o750); err != nil {
		return fmt.Errorf("selfcheck: state directory: %w", err)
	}
	f, err := os.CreateTemp(cfg.State.Dir, ".selfcheck*")
	if err != nil {
		return fmt.Errorf("selfcheck: state directory not writable: %w", err)
	}
	f.Close()
	os.Remove(f.Name())
	if err := checkStateOwner(cfg.State.Dir, os.Geteuid()); err != nil {
		return fmt.Errorf("selfcheck: %w", err)
	}
	tlsLine := ""
	if cfg.Display.TLS {
		fp, err := certFingerprint(filepath.Join(cfg.State.Dir, "tls", tlsid.CertFile))
		switch {
		case err == nil:
			tlsLine = "display TLS certificate fingerprint (sha256): " + fp
		case errors.Is(err, fs.ErrNotExist):
			tlsLine = "display TLS certificate: not created yet (the agent creates it on its first start)"
		default:
			return fmt.Errorf("selfcheck: display TLS certificate: %w", err)
		}
	}
	storeLine := ""
	if cfg.Display.CertFile != "" {
		sc, err := storecert.Load(cfg.Display.CertFile, cfg.Display.KeyFile, slog.New(slog.DiscardHandler))
		if err != nil {
			return fmt.Errorf("selfcheck: display.cert_file: %w", err)
		}
		leaf := sc.Certificate().Leaf
		names := append([]string{}, leaf.DNSNames...)
		for _, ip := range leaf.IPAddresses {
			names = append(names, ip.String())
		}
		storeLine = fmt.Sprintf("store certificate for browsers: %s, issued by %s, for %s, expires %s",
			leaf.Subject, leaf.Issuer, strings.Join(names, " "), leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	fmt.Fprintf(stdout, "ok: posdisplay-agent %s, config valid, registers %s, state dir %s writable\n", agent.Version, strings.Join(cfg.Registers, ","), cfg.State.Dir)
	for _, l := range []string{tlsLine, storeLine} {
		if l != "" {
			fmt.Fprintln(stdout, l)
		}
	}
	return nil
}

// certFingerprint reads a PEM certificate and returns its fingerprint.
func certFingerprint(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return "", fmt.Errorf("%s: no PEM certificate", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return "", err
	}
	return tlsid.Fingerprint(c), nil
}
