package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// nobody is the unprivileged user the packaged commands are tried as.
const nobody = 65534

var (
	builtOnce sync.Once
	builtDir  string
	builtErr  error
)

// agentBinary builds posdisplay-agent once per test run into a directory
// every user may read, and returns its path.
func agentBinary(t *testing.T) string {
	t.Helper()
	builtOnce.Do(func() {
		if builtDir, builtErr = os.MkdirTemp("", "posdisplay-agent-bin"); builtErr != nil {
			return
		}
		if builtErr = os.Chmod(builtDir, 0o755); builtErr != nil {
			return
		}
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", filepath.Join(builtDir, "posdisplay-agent"), ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			builtErr = errors.New(string(out))
		}
	})
	if builtErr != nil {
		t.Fatalf("building posdisplay-agent: %v", builtErr)
	}
	return filepath.Join(builtDir, "posdisplay-agent")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// runAs runs the agent binary as uid/gid nobody and returns its output and
// exit error.
func runAsNobody(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(agentBinary(t), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// `pair` by a user who cannot read the agent's config or its admin token
// says how to fix it, instead of a bare "permission denied" (issue 21
// item 8). The tests run as root: the binary drops to nobody.
func TestPairWithoutPermissionNamesTheFix(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the binary as another user")
	}
	root, err := os.MkdirTemp("", "posdisplay-perm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(root, "state")
	if err := os.Mkdir(state, 0o750); err != nil { // as packaged: posdisplay:posdisplay 0750
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "admin.token"), []byte(strings.Repeat("t", 43)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := "registers = [\"1\"]\n[state]\ndir = \"" + state + "\"\n"
	for _, tc := range []struct {
		name, mode string
		perm       os.FileMode
		want       []string
	}{
		// The packaged config: root:posdisplay 0640.
		{"config unreadable", "config", 0o640, []string{"permission denied", "sudo", "posdisplay group", "adduser"}},
		// A readable config, the state dir closed to others.
		{"admin token unreadable", "token", 0o644, []string{"permission denied", "sudo", "admin token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(root, tc.mode+".toml")
			if err := os.WriteFile(path, []byte(conf), tc.perm); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.perm); err != nil { // past the umask
				t.Fatal(err)
			}
			out, err := runAsNobody(t, "pair", "-config", path, "ABCD-EFGH")
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: got %v, want status 1\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output:\n%s\nwant it to say %q", out, w)
				}
			}
		})
	}
}
