package walkthrough

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/testenv"
)

const (
	backendToken = "walkthrough-backend-token-0123456789"
	// stepLimit bounds each wait for the screen. Every step takes 0.1-4 s
	// here; a screen that needs longer is a finding, not a slow machine.
	stepLimit = 25 * time.Second
)

// TestStoreITWalkthrough is store IT's first hour, scripted: the register
// (this test's network namespace) and the screen (a namespace of its own,
// behind a veth pair, with mDNS between them) run the real binaries. Each
// step is checked in the screen's own log and timed.
func TestStoreITWalkthrough(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root", "network namespaces and veth pairs")
	}
	for _, tool := range []string{"ip", "Xvfb"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, tool, "%v (apt: iproute2, xvfb)", err)
		}
	}
	bins := build(t)

	// The two hosts.
	id := os.Getpid() % 10000
	ns, regIf, scrIf := fmt.Sprintf("pdwalk%d", id), fmt.Sprintf("pdwr%d", id), fmt.Sprintf("pdws%d", id)
	subnet := fmt.Sprintf("10.%d.%d.", 100+id/250%50, id%250)
	ip1, ip9, screenIP := subnet+"1", subnet+"9", subnet+"2"
	ip(t, "netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	ip(t, "link", "add", regIf, "type", "veth", "peer", "name", scrIf, "netns", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", regIf).Run() })
	ip(t, "addr", "add", ip1+"/24", "dev", regIf)
	ip(t, "link", "set", regIf, "up")
	ip(t, "-n", ns, "addr", "add", screenIP+"/24", "dev", scrIf)
	ip(t, "-n", ns, "link", "set", scrIf, "up")
	ip(t, "-n", ns, "link", "set", "lo", "up")
	display := startXvfb(t, ns)

	dir := t.TempDir()
	posAddr := freePort(t)
	agentCfg := filepath.Join(dir, "agent.toml")
	writeAgentConfig := func(displayListen string, advertise bool) {
		t.Helper()
		conf := fmt.Sprintf(`registers = ["1"]
agent_id = "till1"
currency = "USD"
[pos]
listen = %q
backend_token = %q
[display]
listen = %q
tls = true
[discovery]
advertise = %v
interfaces = [%q]
[discovery.names]
"1" = "Lane 1"
[state]
dir = %q
`, posAddr, backendToken, displayListen, advertise, regIf, filepath.Join(dir, "agent-state"))
		if err := os.WriteFile(agentCfg, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	screenCfg := filepath.Join(dir, "screen.toml")
	screenState := filepath.Join(dir, "screen-state")
	conf := fmt.Sprintf("[connection]\nname = \"lane-1-screen\"\nstate_dir = %q\ndiscovery = true\ninterfaces = [%q]\n", screenState, scrIf)
	if err := os.WriteFile(screenCfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) string {
		t.Helper()
		full := append([]string{args[0]}, "-config", agentCfg)
		if args[0] == "displays" {
			full = append([]string{args[0], args[1], "-config", agentCfg}, args[2:]...)
		} else {
			full = append(full, args[1:]...)
		}
		out, err := exec.Command(bins.agent, full...).CombinedOutput()
		if err != nil {
			t.Fatalf("posdisplay-agent %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	var total time.Duration
	step := func(name string, f func()) {
		t.Helper()
		start := time.Now()
		f()
		d := time.Since(start)
		total += d
		t.Logf("step %-58s %6.2f s", name, d.Seconds())
	}

	writeAgentConfig(ip1+":7422", true)
	agent := startProc(t, "agent", exec.Command(bins.agent, "serve", "-config", agentCfg))
	var screen *proc
	startScreen := func() {
		cmd := exec.Command("ip", "netns", "exec", ns, bins.screen, "-config", screenCfg, "-windowed", "-log-level", "debug")
		cmd.Env = []string{"PATH=/usr/bin:/bin", "DISPLAY=" + display, "LANG=en_US.UTF-8", "HOME=" + filepath.Join(dir, "home"),
			"XDG_RUNTIME_DIR=" + filepath.Join(dir, "home")}
		screen = startProc(t, "screen", cmd)
	}
	if err := os.MkdirAll(filepath.Join(dir, "home"), 0o700); err != nil {
		t.Fatal(err)
	}

	var code, displayID string
	step("1. unpaired screen shows a code for Lane 1 (mDNS)", func() {
		startScreen()
		kv := screen.wait(t, "a pairing code from "+ip1+":7422", func(kv map[string]string) bool {
			return kv["msg"] == "pairing code" && kv["addr"] == ip1+":7422"
		})
		code = kv["code"]
		if kv["register"] != "Lane 1" {
			t.Errorf("pairing code offered for %q, want Lane 1", kv["register"])
		}
	})
	step("2. pair CODE on the register; the screen goes live", func() {
		if out := cli("pair", code); !strings.Contains(out, `paired "lane-1-screen"`) {
			t.Fatalf("pair: %s", out)
		}
		displayID = screen.wait(t, "paired", func(kv map[string]string) bool { return kv["msg"] == "paired" })["display"]
		screen.wait(t, "live", isLive)
	})
	step("3. POS backend pushes a cart over REST; the screen shows it", func() {
		pushCart(t, posAddr, "walk-1")
		screen.wait(t, "the pushed cart", shows("walk-1"))
	})
	step("4. the register moves to "+ip9+":7522; the screen follows", func() {
		agent.stop(t)
		ip(t, "addr", "del", ip1+"/24", "dev", regIf)
		ip(t, "addr", "add", ip9+"/24", "dev", regIf)
		writeAgentConfig(ip9+":7522", true)
		agent = startProc(t, "agent", exec.Command(bins.agent, "serve", "-config", agentCfg))
		screen.wait(t, "a connection to "+ip9+":7522", connectedTo(ip9+":7522"))
		screen.wait(t, "live", isLive)
		screen.wait(t, "the cart again (restored by the agent)", shows("walk-1"))
	})
	step("5. screen restarts where mDNS does not reach it", func() {
		agent.stop(t)
		writeAgentConfig(ip9+":7522", false)
		agent = startProc(t, "agent", exec.Command(bins.agent, "serve", "-config", agentCfg))
		screen.wait(t, "live with the silent agent", isLive)
		screen.stop(t)
		startScreen()
		// The first address it dials is where the register was last
		// reached, not where it was paired.
		first := screen.wait(t, "a first connection attempt", func(kv map[string]string) bool {
			return kv["msg"] == "connected" || kv["msg"] == "connection attempt failed"
		})
		if first["msg"] != "connected" || !strings.Contains(first["url"], ip9+":7522") {
			t.Errorf("restarted screen's first dial: %v, want connected to %s", first, ip9+":7522")
		}
		screen.wait(t, "live", isLive)
		screen.wait(t, "the cart", shows("walk-1"))
	})
	step("6. revoke: the screen says why and asks to pair again", func() {
		if out := cli("displays", "revoke", displayID); !strings.Contains(out, "it was connected") {
			t.Fatalf("revoke: %s", out)
		}
		screen.wait(t, "the revoke noticed", func(kv map[string]string) bool {
			return kv["level"] == "WARN" && strings.Contains(kv["msg"], "no longer accepts this screen's token") && kv["display"] == displayID
		})
	})
	step("7. mDNS back on: new code, pair it, live, one entry", func() {
		agent.stop(t)
		writeAgentConfig(ip9+":7522", true)
		agent = startProc(t, "agent", exec.Command(bins.agent, "serve", "-config", agentCfg))
		kv := screen.wait(t, "a new pairing code from "+ip9+":7522", func(kv map[string]string) bool {
			return kv["msg"] == "pairing code" && kv["addr"] == ip9+":7522"
		})
		if kv["code"] == code {
			t.Errorf("the same code %s again", code)
		}
		if out := cli("pair", kv["code"]); !strings.Contains(out, "paired") {
			t.Fatalf("pair: %s", out)
		}
		screen.wait(t, "live", isLive)
		screen.wait(t, "the cart", shows("walk-1"))
		list := cli("displays", "list")
		if n := strings.Count(list, "lane-1-screen"); n != 1 || !strings.Contains(list, "connected since") || strings.Contains(list, displayID) {
			t.Errorf("displays list after pairing again:\n%s\nwant one connected lane-1-screen, not %s", list, displayID)
		}
	})
	t.Logf("walkthrough: %.2f s in all (binaries built in %.2f s)", total.Seconds(), bins.took.Seconds())
}

func isLive(kv map[string]string) bool { return kv["msg"] == "status" && kv["status"] == "live" }

func connectedTo(addr string) func(map[string]string) bool {
	return func(kv map[string]string) bool { return kv["msg"] == "connected" && strings.Contains(kv["url"], addr) }
}

// shows matches the screen's "cart shown" line for the walkthrough's cart.
func shows(order string) func(map[string]string) bool {
	return func(kv map[string]string) bool {
		return kv["msg"] == "cart shown" && kv["order"] == order && kv["lines"] == "2" && kv["total"] == "1748"
	}
}

// pushCart is the POS backend: two lines over REST.
func pushCart(t *testing.T, posAddr, order string) {
	t.Helper()
	c := cart.Empty("1", "USD")
	c.State, c.Order = cart.StateOpen, order
	c.Lines = []cart.Line{
		{ID: "l1", Title: "Coffee beans 1 kg", Quantity: 1000, UnitPrice: 1299, Total: 1299},
		{ID: "l2", Title: "Oat milk", Quantity: 1000, UnitPrice: 449, Total: 449},
	}
	c.Subtotal, c.Total = 1748, 1748
	body, _ := json.Marshal(c)
	req, _ := http.NewRequest(http.MethodPost, "http://"+posAddr+"/v1/registers/1/cart", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+backendToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("REST push: %s %s", resp.Status, b)
	}
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		testenv.Missing(t, "ip netns/veth", "ip %s: %v %s", strings.Join(args, " "), err, out)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type binaries struct {
	agent, screen string
	took          time.Duration
}

// build compiles both programs as the packages ship them: the agent pure
// Go, the screen with the GLES driver (the flags of .ci/test.sh's screen
// step, so that its cache serves this build).
func build(t *testing.T) binaries {
	t.Helper()
	start := time.Now()
	dir := t.TempDir()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	b := binaries{agent: filepath.Join(dir, "posdisplay-agent"), screen: filepath.Join(dir, "posdisplay-screen")}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, args := range [][]string{
		{"build", "-o", b.agent, "github.com/posdisplay/posdisplay/cmd/posdisplay-agent"},
		{"build", "-tags", "gles,no_emoji", "-trimpath", "-buildmode=pie", "-o", b.screen, "github.com/posdisplay/posdisplay/cmd/posdisplay-screen"},
	} {
		wg.Go(func() {
			cmd := exec.Command(goBin, args...)
			if i == 0 {
				cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	b.took = time.Since(start)
	return b
}

// startXvfb runs Xvfb inside the screen's namespace (X's abstract socket
// is per network namespace), as large as the screen's -windowed window,
// and returns its DISPLAY.
func startXvfb(t *testing.T, ns string) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, "Xvfb", "-displayfd", "3", "-nolisten", "tcp", "-screen", "0", "1024x600x24")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		testenv.Missing(t, "Xvfb", "%v", err)
	}
	w.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(r).ReadString('\n')
	r.Close()
	n, convErr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || convErr != nil {
		testenv.Missing(t, "Xvfb", "no display number (%v %v): %s", err, convErr, stderr.String())
	}
	return ":" + strconv.Itoa(n)
}

// proc is a running binary whose log lines (slog text) the test reads.
type proc struct {
	name string
	cmd  *exec.Cmd
	kvs  chan map[string]string
	done chan struct{}

	mu  sync.Mutex
	log []string
}

func startProc(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, kvs: make(chan map[string]string, 4096), done: make(chan struct{})}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.kvs)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.log = append(p.log, sc.Text())
			p.mu.Unlock()
			if kv := parseLogfmt(sc.Text()); kv["msg"] != "" {
				select {
				case p.kvs <- kv:
				default: // nobody reads this many: the log above keeps them
				}
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			p.mu.Lock()
			t.Logf("%s log:\n%s", p.name, strings.Join(p.log, "\n"))
			p.mu.Unlock()
		}
	})
	return p
}

// wait reads the process's log until a line matches, and returns it.
func (p *proc) wait(t *testing.T, what string, match func(map[string]string) bool) map[string]string {
	t.Helper()
	limit := time.NewTimer(stepLimit)
	defer limit.Stop()
	for {
		select {
		case kv, ok := <-p.kvs:
			if !ok {
				t.Fatalf("%s exited before logging %s", p.name, what)
			}
			if match(kv) {
				return kv
			}
		case <-limit.C:
			t.Fatalf("%s did not log %s within %v", p.name, what, stepLimit)
		}
	}
}

// stop ends the process as its service manager would (SIGTERM), and kills
// it if it does not stop within 10 s.
func (p *proc) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("%s did not stop within 10 s of SIGTERM", p.name)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

var logfmtPair = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.]*)=("(?:[^"\\]|\\.)*"|\S*)`)

// parseLogfmt reads a log/slog text line into its keys and values.
func parseLogfmt(line string) map[string]string {
	kv := map[string]string{}
	for _, m := range logfmtPair.FindAllStringSubmatch(line, -1) {
		v := m[2]
		if strings.HasPrefix(v, `"`) {
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
		}
		kv[m[1]] = v
	}
	return kv
}
