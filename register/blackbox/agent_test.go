package blackbox

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	displayToken = "blackbox-display-token-0123456789"
	backendToken = "blackbox-backend-token-0123456789"
	origin       = "http://pos.test"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// agentBinary builds cmd/posdisplay-agent once per test run.
func agentBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "posdisplay-blackbox-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "posdisplay-agent")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/posdisplay/posdisplay/cmd/posdisplay-agent")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// agent is a running agent binary.
type agent struct {
	cmd          *exec.Cmd
	pos, display string // listener addresses
	stateDir     string
	logs         *logTail
}

// logTail keeps the agent's log lines (JSON) for the test to look at.
type logTail struct {
	mu    sync.Mutex
	lines []map[string]any
}

func (l *logTail) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.lines {
		if m["msg"] == msg {
			n++
		}
	}
	return n
}

// startAgent runs the agent binary with the given extra config (TOML
// lines) and nofile limit (0: inherit), and waits for its "agent started"
// line.
func startAgent(t *testing.T, nofile int, extra string) *agent {
	t.Helper()
	bin := agentBinary(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`registers = ["1"]
agent_id = "blackbox"
log_json = true
log_level = "info"

[pos]
listen = "127.0.0.1:0"
allowed_origins = [%q]
backend_token = %q

[display]
listen = "127.0.0.1:0"
tokens = [%q]
tls = true

[state]
dir = %q
%s
`, origin, backendToken, displayToken, filepath.Join(dir, "state"), extra)
	cfgPath := filepath.Join(dir, "agent.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{bin, "serve", "-config", cfgPath}
	if nofile > 0 {
		if _, err := exec.LookPath("prlimit"); err != nil {
			needCapability(t, "prlimit (util-linux) to start the agent with a small descriptor limit")
		}
		args = append([]string{"prlimit", fmt.Sprintf("--nofile=%d:%d", nofile, nofile)}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &agent{cmd: cmd, stateDir: filepath.Join(dir, "state"), logs: &logTail{}}
	started := make(chan map[string]any, 1)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue
			}
			a.logs.mu.Lock()
			a.logs.lines = append(a.logs.lines, m)
			a.logs.mu.Unlock()
			if m["msg"] == "agent started" {
				started <- m
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		<-readerDone
	})
	select {
	case m := <-started:
		a.pos, _ = m["pos"].(string)
		a.display, _ = m["display"].(string)
		t.Logf("agent pid %d: pos %s, display %s, budgets pos %v display %v (nofile %v)", cmd.Process.Pid, a.pos, a.display,
			m["max_pos_connections"], m["max_display_connections"], m["nofile"])
	case <-time.After(60 * time.Second):
		t.Fatal("the agent did not start within 60 s")
	}
	return a
}

// needCapability skips a test that needs something this machine lacks,
// except under CI=true, where a missing capability is a failure.
func needCapability(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("missing %s", what)
	}
	t.Skipf("missing %s", what)
}

// pid is the agent's process id (under prlimit, prlimit execs the agent
// in place, so it is the same process).
func (a *agent) pid() int { return a.cmd.Process.Pid }

// insecureTLS is how a test client talks to the agent's self-signed
// listener; pinning is tested elsewhere (register/agent, display/enroll).
var insecureTLS = &tls.Config{InsecureSkipVerify: true}

// drain reads and discards r.
func drain(r io.Reader) { _, _ = io.Copy(io.Discard, r) }
