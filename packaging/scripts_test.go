// Tests of the packages' shell scripts, run as the packages run them but
// with stand-ins for the commands that would change this machine.
package packaging_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// stubs makes a directory of executable scripts, name → body (sh).
func stubs(t *testing.T, scripts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// linkTools puts links to the named system tools into dir, so that a PATH
// of dir alone offers them and nothing else.
func linkTools(t *testing.T, dir string, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
}

// The kiosk script warns, clearly, when xset is missing on X11: blanking
// then stays on and the customer display goes dark (issue 21 item 8).
func TestKioskWarnsWithoutXset(t *testing.T) {
	for _, tc := range []struct {
		name     string
		withXset bool
		blanking string
		warn     bool
	}{
		{"xset missing", false, "off", true},
		{"xset installed", true, "off", false},
		{"blanking wanted", false, "on", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			record := filepath.Join(t.TempDir(), "calls")
			scripts := map[string]string{
				"screen": `echo "screen started $*" >>` + record,
			}
			if tc.withXset {
				scripts["xset"] = `echo "xset $*" >>` + record
			}
			bin := stubs(t, scripts)
			// What the script uses besides xset; no xrandr (no rotation asked).
			linkTools(t, bin, "tr", "sed", "grep", "head", "awk", "id", "locale")
			cmd := exec.Command("/bin/sh", "screen/libexec/kiosk")
			cmd.Env = []string{"PATH=" + bin, "DISPLAY=:97", "HOME=" + t.TempDir(), "LANG=C.UTF-8",
				"POSDISPLAY_BLANKING=" + tc.blanking, "POSDISPLAY_SCREEN_BIN=" + filepath.Join(bin, "screen")}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("kiosk: %v\n%s", err, out)
			}
			calls, _ := os.ReadFile(record)
			if !strings.Contains(string(calls), "screen started") {
				t.Errorf("the app did not start; calls:\n%s", calls)
			}
			warned := strings.Contains(string(out), "WARNING: xset is not installed, so screen blanking stays ON") &&
				strings.Contains(string(out), "x11-xserver-utils")
			if warned != tc.warn {
				t.Errorf("kiosk output:\n%s\nwarned about xset: %v, want %v", out, warned, tc.warn)
			}
			if tc.withXset && !strings.Contains(string(calls), "xset s off s noblank -dpms") {
				t.Errorf("xset not called to turn blanking off; calls:\n%s", calls)
			}
		})
	}
}

// The agent's postinst says when it did not start the service because
// systemd is not running (issue 21 item 8), and says nothing of the kind
// where systemd runs. Every command that would change this machine is a
// stand-in that records its arguments.
func TestAgentPostinstNotesNoSystemd(t *testing.T) {
	record := filepath.Join(t.TempDir(), "calls")
	rec := `echo "$(basename "$0") $*" >>` + record
	stub := map[string]string{
		"getent": rec, "addgroup": rec, "adduser": rec, "dpkg-statoverride": rec, "udevadm": rec,
		"deb-systemd-helper": rec + "\nexit 1", "deb-systemd-invoke": rec, "systemctl": rec,
		"mkdir": rec, "chown": rec, "chmod": rec,
		"id": `echo "posdisplay dialout input"`,
	}
	bin := stubs(t, stub)
	linkTools(t, bin, "tr", "grep", "cat", "basename")
	cmd := exec.Command("/bin/sh", "agent/postinst", "configure")
	cmd.Env = []string{"PATH=" + bin}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("postinst configure: %v\n%s", err, out)
	}
	calls, _ := os.ReadFile(record)
	_, statErr := os.Stat("/run/systemd/system")
	systemd := statErr == nil
	noted := strings.Contains(string(out), "systemd is not running here, so the service was NOT started") &&
		strings.Contains(string(out), "sudo -u posdisplay posdisplay-agent serve")
	if noted == systemd {
		t.Errorf("postinst output (systemd running: %v):\n%s\ncalls:\n%s", systemd, out, calls)
	}
	if !systemd && strings.Contains(string(calls), "deb-systemd-invoke") {
		t.Errorf("started the service without systemd; calls:\n%s", calls)
	}
	// On abort-upgrade nothing was configured: no note.
	cmd = exec.Command("/bin/sh", "agent/postinst", "abort-upgrade")
	cmd.Env = []string{"PATH=" + bin}
	if out, err := cmd.CombinedOutput(); err != nil || strings.Contains(string(out), "NOT started") {
		t.Errorf("postinst abort-upgrade: %v\n%s", err, out)
	}
}
