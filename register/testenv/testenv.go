// Package testenv decides what a test does when this machine lacks a
// capability the test needs: a network namespace, a pty, Xvfb, Chromium, the
// ip tool.
//
// On a developer's machine the test skips and says what to install. In CI
// (CI=true) it fails instead: a runner that silently lacks one of them would
// otherwise pass with the mDNS, serial, window or browser suite absent.
// Only tests that need real hardware this kind of machine never has (a
// uinput device) may skip in CI, through HardwareOnly, which says so.
//
// It owns nothing else: it neither probes for capabilities nor installs them.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// InCI reports whether the tests run in CI, where a missing capability is a
// failure. CI sets CI=true (as GitHub Actions and GitLab do).
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing ends tb because the capability it needs is not available here:
// a skip on a developer's machine, a failure in CI.
func Missing(tb testing.TB, capability, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf("needs %s: %s", capability, fmt.Sprintf(format, args...))
	if InCI() {
		tb.Fatalf("%s (CI=true: a missing capability fails instead of skipping; .ci/deps.sh installs it)", msg)
	}
	tb.Skip(msg)
}

// HardwareOnly skips tb because it needs hardware that test machines do
// not have (a uinput device, a real scanner); it skips in CI too. The skip
// reason starts with "hardware:" so the run's summary can list it.
func HardwareOnly(tb testing.TB, format string, args ...any) {
	tb.Helper()
	tb.Skip("hardware: " + fmt.Sprintf(format, args...))
}

// OptIn skips tb because it runs only when asked for (a flag or an
// environment variable); it skips in CI too. The reason starts with "opt-in:".
func OptIn(tb testing.TB, format string, args ...any) {
	tb.Helper()
	tb.Skip("opt-in: " + fmt.Sprintf(format, args...))
}
