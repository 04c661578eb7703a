//go:build linux

package discoverytest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/posdisplay/posdisplay/register/testenv"
)

// Environment markers passed to re-executed test binaries.
const (
	envNetNS = "POSDISPLAY_TEST_NETNS" // test name running in a private namespace
)

// InNetNS runs the calling test or benchmark inside a fresh network namespace
// that holds only the loopback interface, so that it may send multicast DNS
// without touching the host's networks.
//
// In the parent process it re-executes the test binary for exactly this
// test (or benchmark) with CLONE_NEWNET and Pdeathsig=SIGKILL, copies the
// child's output to the test log, fails tb when the child fails, and returns
// false: the caller must return at once. It skips tb when the kernel refuses
// the new namespace. In the child it checks that lo is the only interface,
// brings lo up and returns true.
//
//	func TestX(t *testing.T) {
//		if !discoverytest.InNetNS(t) {
//			return
//		}
//		// runs in the private namespace
//	}
//
// For a benchmark the child's metrics (ns/op and b.ReportMetric values) are
// reported again by the parent.
func InNetNS(tb testing.TB) bool {
	tb.Helper()
	if os.Getenv(envNetNS) == tb.Name() {
		enterChild(tb, []string{"lo"})
		return true
	}
	args := []string{"-test.count=1", "-test.v=true"}
	b, isBench := tb.(*testing.B)
	if isBench {
		args = append(args, "-test.run=^$", "-test.bench="+runPattern(tb.Name()), "-test.benchmem=true")
		if f := flagValue("test.benchtime"); f != "" {
			args = append(args, "-test.benchtime="+f)
		}
	} else {
		args = append(args, "-test.run="+runPattern(tb.Name()))
	}
	if t, ok := tb.(*testing.T); ok {
		if d, ok := t.Deadline(); ok {
			args = append(args, "-test.timeout="+time.Until(d).Round(time.Second).String())
		}
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envNetNS+"="+tb.Name())
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if os.Getuid() != 0 {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EUSERS) {
			testenv.Missing(tb, "a network namespace", "cannot create one (%v): mDNS tests run only in a private namespace", err)
		}
		tb.Fatalf("starting %s in a new network namespace: %v", os.Args[0], err)
	}
	err := cmd.Wait()
	tb.Logf("output of %s in its network namespace:\n%s", tb.Name(), out.String())
	if strings.Contains(out.String(), "--- SKIP") && !strings.Contains(out.String(), "--- FAIL") && err == nil {
		tb.Skipf("skipped in the namespace (see log)")
	}
	if err != nil {
		tb.Fatalf("%s failed in its network namespace: %v", tb.Name(), err)
	}
	if isBench {
		reportBench(b, tb.Name(), out.String())
	}
	return false
}

// enterChild checks the namespace holds exactly the wanted interfaces
// (by name prefix) and brings lo up.
func enterChild(tb testing.TB, want []string) {
	tb.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		tb.Fatalf("listing interfaces: %v", err)
	}
	var names []string
	for _, ifi := range ifs {
		names = append(names, ifi.Name)
	}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		tb.Fatalf("refusing to run: interfaces %v, want only %v (not a private network namespace?)", names, want)
	}
	if err := SetLinkUp("lo", true); err != nil {
		tb.Fatalf("bringing lo up: %v", err)
	}
}

// SetLinkUp sets or clears IFF_UP on the named interface of the current
// network namespace (ioctl SIOCSIFFLAGS; needs CAP_NET_ADMIN there).
func SetLinkUp(name string, up bool) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS %s: %w", name, err)
	}
	flags := ifr.Uint16()
	if up {
		flags |= unix.IFF_UP
	} else {
		flags &^= unix.IFF_UP
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS %s: %w", name, err)
	}
	return nil
}

// runPattern turns a test name (with subtests) into an exact -test.run pattern.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

func flagValue(name string) string {
	for i, a := range os.Args {
		for _, pre := range []string{"-" + name + "=", "--" + name + "="} {
			if v, ok := strings.CutPrefix(a, pre); ok {
				return v
			}
		}
		if (a == "-"+name || a == "--"+name) && i+1 < len(os.Args) {
			return os.Args[i+1]
		}
	}
	return ""
}

// reportBench copies the metrics of the child's result line
// ("BenchmarkX-2  N  123 ns/op  4.5 ms/discover ...") to b.
func reportBench(b *testing.B, name, out string) {
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], name) {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			b.ReportMetric(v, f[i+1])
		}
		return
	}
	b.Errorf("no benchmark result line for %s in the child's output", name)
}

// Veth is two network namespaces, A and B, joined by a veth pair:
// interface IfA (addresses AddrA, Addr6A) in A and IfB (AddrB, Addr6B) in
// B. Both have lo up. They are created with `ip netns add` and deleted when
// the test ends.
type Veth struct {
	A, B           string // namespace names
	IfA, IfB       string // interface names
	AddrA, AddrB   string // IPv4 addresses with prefix length, e.g. "10.77.0.1/24"
	Addr6A, Addr6B string // IPv6 unique local addresses, e.g. "fd77::1/64"
}

// NewVeth creates the two namespaces and the link between them, or skips
// tb when that is not possible here (no root, no ip tool).
func NewVeth(tb testing.TB) *Veth {
	tb.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		testenv.Missing(tb, "the ip tool", "veth tests (apt-get install iproute2): %v", err)
	}
	id := strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)
	v := &Veth{
		A: "pdtest-a-" + id, B: "pdtest-b-" + id,
		IfA: "va", IfB: "vb",
		AddrA: "10.77.0.1/24", AddrB: "10.77.0.2/24",
		Addr6A: "fd77::1/64", Addr6B: "fd77::2/64",
	}
	if out, err := exec.Command("ip", "netns", "add", v.A).CombinedOutput(); err != nil {
		testenv.Missing(tb, "named network namespaces", "ip netns add: %v: %s", err, out)
	}
	tb.Cleanup(func() { exec.Command("ip", "netns", "del", v.A).Run() })
	mustIP(tb, "netns", "add", v.B)
	tb.Cleanup(func() { exec.Command("ip", "netns", "del", v.B).Run() })
	mustIP(tb, "link", "add", v.IfA, "netns", v.A, "type", "veth", "peer", "name", v.IfB, "netns", v.B)
	for _, ns := range []string{v.A, v.B} {
		// No duplicate address detection: IPv6 addresses are usable at once.
		// Promote secondaries: renumbering (add new, delete old address in
		// the same subnet) keeps the new one, as DHCP clients expect.
		mustIP(tb, "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
			"net.ipv4.conf.all.promote_secondaries=1")
		mustIP(tb, "-n", ns, "link", "set", "lo", "up")
	}
	mustIP(tb, "-n", v.A, "addr", "add", v.AddrA, "dev", v.IfA)
	mustIP(tb, "-n", v.B, "addr", "add", v.AddrB, "dev", v.IfB)
	mustIP(tb, "-n", v.A, "addr", "add", v.Addr6A, "dev", v.IfA, "nodad")
	mustIP(tb, "-n", v.B, "addr", "add", v.Addr6B, "dev", v.IfB, "nodad")
	v.SetLink(tb, v.A, true)
	v.SetLink(tb, v.B, true)
	return v
}

// SetLink brings the veth end in namespace ns up or down. Taking one end
// down simulates a pulled cable: the other end keeps IFF_UP but loses
// carrier, and no packet crosses.
func (v *Veth) SetLink(tb testing.TB, ns string, up bool) {
	tb.Helper()
	state := "down"
	if up {
		state = "up"
	}
	ifname := v.IfA
	if ns == v.B {
		ifname = v.IfB
	}
	mustIP(tb, "-n", ns, "link", "set", ifname, state)
}

// IP runs `ip -n ns args...` and fails tb on error.
func (v *Veth) IP(tb testing.TB, ns string, args ...string) {
	tb.Helper()
	mustIP(tb, append([]string{"-n", ns}, args...)...)
}

func mustIP(tb testing.TB, args ...string) {
	tb.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		tb.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// Proc is the test binary re-executed inside a namespace to play a role in
// the calling test.
type Proc struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	mu    sync.Mutex
	out   bytes.Buffer
	done  chan struct{}
	err   error
}

// StartRole re-executes the calling test inside namespace ns (see Veth)
// with Role() == role. The role's branch of the test reports with Report
// and ends when StopRequested is closed. The process is killed when the
// test ends.
func StartRole(t *testing.T, ns, role string) *Proc {
	t.Helper()
	args := []string{"netns", "exec", ns, os.Args[0], "-test.count=1", "-test.v=true", "-test.run=" + runPattern(t.Name())}
	cmd := exec.Command("ip", args...)
	cmd.Env = append(os.Environ(), envRole+"="+role)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &Proc{name: role, cmd: cmd, stdin: stdin, lines: make(chan string, 1024), done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{p: p}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting role %s in %s: %v", role, ns, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.out.WriteString(line + "\n")
			p.mu.Unlock()
			if l, ok := strings.CutPrefix(line, "@@ "); ok {
				select {
				case p.lines <- l:
				default: // nobody expects that many lines; keep them in the log
				}
			}
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-p.done
		}
		p.mu.Lock()
		t.Logf("output of role %s:\n%s", role, p.out.String())
		p.mu.Unlock()
	})
	return p
}

type lockedWriter struct{ p *Proc }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(b)
}

// Expect waits until the role reports a line for which match returns true
// and returns it; it fails t after timeout or when the role exits.
func (p *Proc) Expect(t *testing.T, timeout time.Duration, what string, match func(line string) bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		select {
		case l := <-p.lines:
			if match(l) {
				return l
			}
		case <-p.done:
			// drain what is left
			for {
				select {
				case l := <-p.lines:
					if match(l) {
						return l
					}
				default:
					t.Fatalf("role %s exited (%v) before reporting %s", p.name, p.err, what)
				}
			}
		case <-ctx.Done():
			t.Fatalf("role %s did not report %s within %v", p.name, what, timeout)
		}
	}
}

// Stop asks the role to finish (closes its stdin), waits for it and fails t
// if it did not exit cleanly.
func (p *Proc) Stop(t *testing.T) {
	t.Helper()
	p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("role %s did not stop within 15s", p.name)
	}
	if p.err != nil {
		t.Errorf("role %s failed: %v", p.name, p.err)
	}
}
