package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoFyne keeps the agent free of the GUI toolkit: it must build without
// cgo and run on a headless register.
func TestNoFyne(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "fyne.io/") || strings.Contains(dep, "go-gl/") {
			t.Errorf("posdisplay-agent depends on %s; the agent must never link Fyne or GL", dep)
		}
	}
}
