// Package redistest runs a real redis-server for tests: on a free loopback
// port, with AOF on and fsynced at every write (so an entry the backend got
// an id for survives kill -9), in the test's temporary directory; it can
// kill -9 and restart it on the same port and data, and put a TCP proxy
// the test controls between it and the agent. Only tests import it.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/posdisplay/posdisplay/register/testenv"
)

// Server is one redis-server process.
type Server struct {
	// Addr is host:port of the plain TCP port (the TLS port with TLS).
	Addr string
	Dir  string
	args []string
	cmd  *exec.Cmd
	tb   testing.TB
}

// Options add to the server's command line.
type Options struct {
	// TLS serves only TLS, with these PEM files (tls-auth-clients no).
	TLSCert, TLSKey, TLSCA string
	// Args are extra redis-server arguments.
	Args []string
}

// readyTimeout bounds the wait for "Ready to accept connections".
const readyTimeout = 10 * time.Second

// Start runs redis-server until the test ends. Without redis-server it
// skips, or fails under CI=true (.ci/deps.sh installs it).
func Start(tb testing.TB, o Options) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Missing(tb, "redis-server", "apt-get install redis-server")
	}
	port := FreePort(tb)
	dir := tb.TempDir()
	args := []string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--dir", dir, "--logfile", "", "--daemonize", "no", "--protected-mode", "no"}
	if o.TLSCert != "" {
		args = append(args, "--port", "0", "--tls-port", strconv.Itoa(port), "--tls-cert-file", o.TLSCert,
			"--tls-key-file", o.TLSKey, "--tls-ca-cert-file", o.TLSCA, "--tls-auth-clients", "no")
	} else {
		args = append(args, "--port", strconv.Itoa(port))
	}
	args = append(args, o.Args...)
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir, args: append([]string{bin}, args...), tb: tb}
	s.start()
	tb.Cleanup(s.stop)
	return s
}

func (s *Server) start() {
	s.tb.Helper()
	cmd := exec.Command(s.args[0], s.args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.tb.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("redis-server: %v", err)
	}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var log []string
		for sc.Scan() {
			log = append(log, sc.Text())
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				ready <- nil
				_, _ = io.Copy(io.Discard, out)
				return
			}
		}
		ready <- fmt.Errorf("redis-server exited before it was ready:\n%s", strings.Join(log, "\n"))
	}()
	select {
	case err := <-ready:
		if err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			s.tb.Fatal(err)
		}
	case <-time.After(readyTimeout):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		s.tb.Fatalf("redis-server not ready after %v", readyTimeout)
	}
	s.cmd = cmd
}

// Pid is the running server's process id (0 when stopped).
func (s *Server) Pid() int {
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Kill9 kills the server with SIGKILL and waits for it.
func (s *Server) Kill9() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the server again on the same port and data directory.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Kill9()
	s.start()
}

func (s *Server) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

// Client returns an administrator's client (the default user), closed
// when the test ends.
func (s *Server) Client(tb testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DisableIdentity: true, MaxRetries: -1})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Do runs one command as the administrator and fails the test on error.
func (s *Server) Do(tb testing.TB, args ...any) any {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DisableIdentity: true})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := c.Do(ctx, args...).Result()
	if err != nil {
		tb.Fatalf("redis %v: %v", args, err)
	}
	return v
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
