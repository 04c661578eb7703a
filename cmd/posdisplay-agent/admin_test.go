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
	"sync"
	"testing"

	"github.com/posdisplay/posdisplay/register/agent"
	"github.com/posdisplay/posdisplay/register/testlog"
)

// cliAgent is a real agent run in the test, with the config file the CLI
// reads to find it.
type cliAgent struct {
	*agent.Agent
	cfgPath string
	stop    func()
}

// startCLIAgent runs an agent on dir (its state dir too), display
// listener over TLS as packaged, and points dir/agent.toml's pos.listen at
// the port it bound.
func startCLIAgent(t *testing.T, dir string) *cliAgent {
	t.Helper()
	cfgPath := filepath.Join(dir, "agent.toml")
	conf := fmt.Sprintf("registers = [\"1\"]\nagent_id = \"till\"\n[pos]\nlisten = \"127.0.0.1:0\"\n[display]\nlisten = \"127.0.0.1:0\"\ntls = true\n[discovery]\nadvertise = false\n[state]\ndir = %q\n", dir)
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := agent.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(cfg, testlog.New(t, slog.LevelInfo), agent.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	// The CLI finds the agent through the config file: point it at the
	// port the agent actually bound.
	conf = strings.Replace(conf, "listen = \"127.0.0.1:0\"", "listen = \""+a.POSAddr().String()+"\"", 1)
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return &cliAgent{Agent: a, cfgPath: cfgPath, stop: stop}
}

// cli runs posdisplay-agent args against the agent, as store IT would.
func (a *cliAgent) cli(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	n := 1 // flags go after the (sub)command words
	if args[0] == "displays" {
		n = 2
	}
	full := append(append(append([]string{}, args[:n]...), "-config", a.cfgPath), args[n:]...)
	err := run(context.Background(), full, &out, &errOut)
	return out.String() + errOut.String(), err
}

// TestAdminCommands drives the store-IT commands against a running agent.
func TestAdminCommands(t *testing.T) {
	a := startCLIAgent(t, t.TempDir())
	cli := a.cli
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
