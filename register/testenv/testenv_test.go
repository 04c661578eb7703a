package testenv_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/posdisplay/posdisplay/register/testenv"
)

// TestMissing runs a child test that calls Missing, with and without
// CI=true, and checks that it skips on a developer's machine and fails in CI.
func TestMissing(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		testenv.Missing(t, "a pty", "no /dev/ptmx here")
		return
	}
	for _, tc := range []struct {
		ci       string
		wantFail bool
		want     string
	}{
		{"", false, "--- SKIP: TestMissing"},
		{"false", false, "--- SKIP: TestMissing"},
		{"true", true, "--- FAIL: TestMissing"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissing$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI="+tc.ci)
		out, err := cmd.CombinedOutput()
		if gotFail := err != nil; gotFail != tc.wantFail {
			t.Errorf("CI=%q: failed = %v, want %v; output:\n%s", tc.ci, gotFail, tc.wantFail, out)
		}
		if !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), "needs a pty: no /dev/ptmx here") {
			t.Errorf("CI=%q: output lacks %q and the reason:\n%s", tc.ci, tc.want, out)
		}
	}
}

func TestHardwareOnlySkipsInCI(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		testenv.HardwareOnly(t, "no /dev/uinput")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHardwareOnlySkipsInCI$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI=true")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hardware: no /dev/uinput") {
		t.Errorf("err = %v, output:\n%s\nwant a skip saying hardware: no /dev/uinput", err, out)
	}
}
