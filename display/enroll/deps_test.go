package enroll_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestScreenDoesNotLinkTheAgentsPairingServer: the screen and the agent
// share the pairing protocol's wire types (register/pairing/pairwire), not
// the agent's server, registry and admin code.
func TestScreenDoesNotLinkTheAgentsPairingServer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, dep := range deps {
		if dep == "github.com/posdisplay/posdisplay/register/pairing" {
			t.Errorf("display/enroll depends on %s; it must import only register/pairing/pairwire", dep)
		}
	}
	if !strings.Contains(string(out), "register/pairing/pairwire") {
		t.Error("display/enroll does not use register/pairing/pairwire")
	}
}
