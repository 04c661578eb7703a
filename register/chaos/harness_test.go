package chaos

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

var long = flag.Bool("chaos.long", false, "run the long fault variants (make chaos)")

const (
	register     = "1"
	displayToken = "chaos-display-token-0123456789"
	backendToken = "chaos-backend-token-0123456789"
)

var (
	agentBin     string
	agentBinErr  error
	agentBinOnce sync.Once
	binDir       string
)

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "chaos-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needRoot skips (or, with CI=true, fails) a test that needs root.
func needRoot(t *testing.T, what string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s needs root, and CI=true", what)
	}
	t.Skipf("%s needs root", what)
}

// binary builds cmd/posdisplay-agent once per test run.
func binary(t *testing.T) string {
	t.Helper()
	agentBinOnce.Do(func() {
		agentBin = filepath.Join(binDir, "posdisplay-agent")
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		cmd := exec.Command(goBin, "build", "-o", agentBin, "github.com/posdisplay/posdisplay/cmd/posdisplay-agent")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			agentBinErr = fmt.Errorf("build agent: %v\n%s", err, out)
		}
	})
	if agentBinErr != nil {
		t.Fatal(agentBinErr)
	}
	return agentBin
}

// freePort reserves a loopback port and releases it for the agent.
func freePort(t *testing.T, host string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// agentConfig is what a fault test varies in the agent's config file.
type agentConfig struct {
	stateDir    string
	posAddr     string
	displayAddr string
	tls         bool
	// extra is appended to the config file (a [redis] section).
	extra string
}

// agentProc is one run of the real agent binary.
type agentProc struct {
	cfg  agentConfig
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

func newAgentConfig(t *testing.T) agentConfig {
	return agentConfig{stateDir: t.TempDir(), posAddr: freePort(t, "127.0.0.1"), displayAddr: freePort(t, "127.0.0.1")}
}

// startAgent starts the binary on cfg and waits until /healthz answers.
func startAgent(t *testing.T, cfg agentConfig) *agentProc {
	t.Helper()
	dir := t.TempDir()
	conf := fmt.Sprintf(`registers = [%q]
currency = "USD"
agent_id = "chaos"
log_level = "info"
[pos]
listen = %q
allow_missing_origin = true
backend_token = %q
rate_limit = 1000
# A short display queue (32 = burst + 8, the sizing rule), as the suite was
# written for: a display stalled a few seconds fills its kernel buffers and
# then its queue, and must get one snapshot instead of its backlog. With the
# 128-frame default that took longer than the stall under load.
rate_burst = 24
[display]
queue_frames = 32
listen = %q
tokens = [%q]
tls = %v
[discovery]
advertise = false
[state]
dir = %q
%s`, register, cfg.posAddr, backendToken, cfg.displayAddr, displayToken, cfg.tls, cfg.stateDir, cfg.extra)
	path := filepath.Join(dir, "agent.toml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.CreateTemp(dir, "agent-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary(t), "-config", path)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &agentProc{cfg: cfg, cmd: cmd, log: logf, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		a.kill()
		if t.Failed() {
			a.dumpLog(t)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get("http://" + cfg.posAddr + "/healthz"); err == nil {
			resp.Body.Close()
			return a
		}
		select {
		case <-a.done:
			a.dumpLog(t)
			t.Fatal("agent exited at start")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			a.dumpLog(t)
			t.Fatal("agent not answering /healthz within 20 s")
		}
	}
}

func (a *agentProc) pid() int { return a.cmd.Process.Pid }

// kill sends SIGKILL and waits for the process to be gone.
func (a *agentProc) kill() {
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.done
}

func (a *agentProc) dumpLog(t *testing.T) {
	data, _ := os.ReadFile(a.log.Name())
	if len(data) > 8000 {
		data = data[len(data)-8000:]
	}
	t.Logf("agent log (tail):\n%s", data)
}

func (a *agentProc) displayURL() string {
	scheme := "ws"
	if a.cfg.tls {
		scheme = "wss"
	}
	return scheme + "://" + a.cfg.displayAddr + "/v1/display"
}

type health struct {
	Status    string
	Reason    string
	Epoch     string
	Registers map[string]struct {
		Seq      uint64
		Displays int
	}
}

func (a *agentProc) health() (health, error) {
	var h health
	resp, err := http.Get("http://" + a.cfg.posAddr + "/healthz")
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&h)
	return h, err
}

// metric returns the sum of the samples of a metric whose line starts with
// prefix (name and labels), from /metrics.
func (a *agentProc) metric(prefix string) (float64, error) {
	resp, err := http.Get("http://" + a.cfg.posAddr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
			sum += v
		}
	}
	return sum, sc.Err()
}

// stateCart reads the register's cart file as the agent wrote it.
func stateCart(dir string) (cart.Cart, error) {
	var c cart.Cart
	data, err := os.ReadFile(filepath.Join(dir, "carts", register+".json"))
	if err != nil {
		return c, err
	}
	err = json.Unmarshal(data, &c)
	return c, err
}

// cartN is the n-th cart of a run: one line whose price is n, its order
// "tag-n", so any cart on a screen names the message it came from.
func cartN(tag string, n int) cart.Cart {
	c := cart.Empty(register, "USD")
	c.State = cart.StateOpen
	c.Order = fmt.Sprintf("%s-%d", tag, n)
	lines := 3 + n%5
	for i := range lines {
		c.Lines = append(c.Lines, cart.Line{ID: fmt.Sprintf("l%d", i), Title: fmt.Sprintf("Item %d", i), Quantity: 1000, UnitPrice: cart.Money(100 + n), Total: cart.Money(100 + n)})
	}
	c.Subtotal = cart.Money(lines) * cart.Money(100+n)
	c.Total = c.Subtotal
	return c
}

// orderIndex parses "tag-n"; ok is false for another tag or an empty order.
func orderIndex(order, tag string) (int, bool) {
	rest, found := strings.CutPrefix(order, tag+"-")
	if !found {
		return 0, false
	}
	var n int
	if _, err := fmt.Sscan(rest, &n); err != nil {
		return 0, false
	}
	return n, true
}

// posPage is a POS page on the WebSocket: it sends carts and reads the
// agent's acks.
type posPage struct {
	ws   *websocket.Conn
	mu   sync.Mutex
	sent []string // orders, in send order
	// acked is the highest index acked (by ack id), -1 before any.
	acked   int
	readErr chan error
}

func dialPOS(a *agentProc) (*posPage, error) {
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+a.cfg.posAddr+"/v1/pos?register="+register, nil)
	if err != nil {
		return nil, err
	}
	if _, _, err := ws.ReadMessage(); err != nil { // welcome
		ws.Close()
		return nil, err
	}
	p := &posPage{ws: ws, acked: -1, readErr: make(chan error, 1)}
	go p.readAcks()
	return p, nil
}

func (p *posPage) readAcks() {
	for {
		_, data, err := p.ws.ReadMessage()
		if err != nil {
			p.readErr <- err
			return
		}
		var m struct {
			Type string `json:"type"`
			ID   int    `json:"id"`
		}
		if json.Unmarshal(data, &m) == nil && m.Type == protocol.TypeAck {
			p.mu.Lock()
			p.acked = max(p.acked, m.ID)
			p.mu.Unlock()
		}
	}
}

// send sends cart n (id n) without waiting for its ack.
func (p *posPage) send(c cart.Cart, n int) error {
	data, err := json.Marshal(protocol.CartMsg{Type: protocol.TypeCart, ID: protocol.ID(strconv.Itoa(n)), Cart: c})
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.sent = append(p.sent, c.Order)
	p.mu.Unlock()
	_ = p.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return p.ws.WriteMessage(websocket.TextMessage, data)
}

func (p *posPage) lastAcked() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acked
}

func (p *posPage) close() { p.ws.Close() }

// postCart pushes c through the REST endpoint and waits for the ack.
func postCart(a *agentProc, c cart.Cart) error {
	body, err := json.Marshal(c)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+a.cfg.posAddr+"/v1/registers/"+register+"/cart", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+backendToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST cart: %s %s", resp.Status, msg)
	}
	return nil
}

// percentiles formats p50/p99/max of ds.
func percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "n=0"
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return fmt.Sprintf("n=%d p50=%v p99=%v max=%v", len(s), at(0.5).Round(time.Millisecond), at(0.99).Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}

// poll calls cond every 10 ms until it is true or limit passes; it returns
// how long it took and whether cond became true. It observes from outside,
// as a monitoring system would.
func poll(ctx context.Context, limit time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	end := time.After(limit)
	for {
		if cond() {
			return time.Since(start), true
		}
		select {
		case <-tick.C:
		case <-end:
			return time.Since(start), false
		case <-ctx.Done():
			return time.Since(start), false
		}
	}
}
