package loadtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/posdisplay/posdisplay/register/procstat"
)

// child is a server process under test.
type child struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	pos      string // POS / publisher address
	disp     string // display / subscriber address
	fp       string // display listener's certificate fingerprint, "" without TLS
	waitDone chan error
}

// startChild re-executes the test binary as a server of kind, with env
// added to its environment, and waits until it has bound its listeners.
func startChild(kind, name string, useTLS bool, queueFrames int, stderr io.Writer, env ...string) (*child, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), EnvChild+"="+kind, envName+"="+name)
	cmd.Env = append(cmd.Env, env...)
	if kind == ImplAgent {
		cmd.Env = append(cmd.Env, strings.Fields(os.Getenv(EnvAgentEnv))...)
	}
	if useTLS {
		cmd.Env = append(cmd.Env, envTLS+"=1")
	}
	if queueFrames > 0 {
		cmd.Env = append(cmd.Env, envQueue+"="+strconv.Itoa(queueFrames))
	}
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s child: %w", kind, err)
	}
	c := &child{cmd: cmd, stdin: stdin, waitDone: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(15 * time.Second):
	}
	if f := strings.Fields(line); len(f) == 4 && f[0] == "READY" {
		c.pos, c.disp = f[1], f[2]
		if f[3] != "-" {
			c.fp = f[3]
		}
		go func() { c.waitDone <- cmd.Wait() }()
		return c, nil
	}
	_ = cmd.Process.Kill()
	<-lines // the pipe closes with the process
	_ = cmd.Wait()
	return nil, fmt.Errorf("%s child did not report its addresses (got %q)", kind, line)
}

// usage returns the child's CPU time (user+system) and peak RSS (VmHWM).
func (c *child) usage() (cpu time.Duration, peakRSS int64, err error) {
	u, err := procstat.Read(c.cmd.Process.Pid)
	return u.CPU, u.PeakRSS, err
}

// stop closes the child's stdin, which makes it shut down, and waits for it
// (killing it after 15 s).
func (c *child) stop() error {
	_ = c.stdin.Close()
	select {
	case err := <-c.waitDone:
		return err
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		select {
		case <-c.waitDone:
		case <-time.After(5 * time.Second): // Wait still copying stderr
		}
		return errors.New("child did not stop within 15 s; killed")
	}
}
