package loadtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// child is a server process under test.
type child struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	pos      string // POS / publisher address
	disp     string // display / subscriber address
	fp       string // display listener's certificate fingerprint, "" without TLS
	waitDone chan error
}

// startChild re-executes the test binary as a server of kind and waits
// until it has bound its listeners.
func startChild(kind, name string, useTLS bool, queueFrames int, stderr io.Writer) (*child, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), EnvChild+"="+kind, envName+"="+name)
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
	pid := c.cmd.Process.Pid
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may hold spaces: fields count from the
	// last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, errors.New("malformed /proc/PID/stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, 0, errors.New("short /proc/PID/stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("/proc/PID/stat: %w", err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("VmHWM: %w", err)
			}
			peakRSS = kb << 10
		}
	}
	return time.Duration(ut+st) * clockTick, peakRSS, nil
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
