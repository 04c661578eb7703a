package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/posdisplay/posdisplay/register/agent"
)

// TestAdminCommands drives the store-IT commands against a running agent.
func TestAdminCommands(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "agent.toml")
	conf := fmt.Sprintf("registers = [\"1\"]\nagent_id = \"till\"\n[pos]\nlisten = \"127.0.0.1:0\"\n[display]\nlisten = \"127.0.0.1:0\"\n[discovery]\nadvertise = false\n[state]\ndir = %q\n", dir)
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := agent.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(cfg, slog.New(slog.DiscardHandler), agent.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	// The CLI finds the agent through the config file: point it at the
	// port the agent actually bound.
	conf = strings.Replace(conf, "listen = \"127.0.0.1:0\"", "listen = \""+a.POSAddr().String()+"\"", 1)
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		n := 1 // flags go after the (sub)command words
		if args[0] == "displays" {
			n = 2
		}
		full := append(append(append([]string{}, args[:n]...), "-config", cfgPath), args[n:]...)
		err := run(ctx, full, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	out, err := cli("displays", "add", "Tablet 1")
	if err != nil {
		t.Fatalf("displays add: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`added (d-[0-9a-f]+).*\ntoken: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("displays add output: %s", out)
	}
	if _, err := a.Registry().Authorize(m[2], "1"); err != nil {
		t.Fatalf("provisioned token: %v", err)
	}
	if out, err = cli("displays", "list"); err != nil || !strings.Contains(out, m[1]) || !strings.Contains(out, "Tablet 1") || strings.Contains(out, m[2]) {
		t.Fatalf("displays list: %v\n%s", err, out)
	}
	if out, err = cli("pair", "0000-0000"); err == nil || !strings.Contains(out+err.Error(), "no screen shows this code") {
		t.Fatalf("pair with a wrong code: %v\n%s", err, out)
	}
	if out, err = cli("displays", "revoke", m[1]); err != nil || !strings.Contains(out, "revoked "+m[1]) {
		t.Fatalf("displays revoke: %v\n%s", err, out)
	}
	if _, err := a.Registry().Authorize(m[2], "1"); err == nil {
		t.Fatal("revoked token still works")
	}
	if out, err = cli("displays", "frobnicate"); err == nil {
		t.Fatalf("bad subcommand accepted: %s", out)
	}
}
