package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posdisplay/posdisplay/register/testenv"
)

// TestPackagedDefaultsSelfcheck: the shipped agent.toml with every
// documented default and scanner example uncommented (the rule test-debs.sh
// applies to the installed conffile, packaging/uncomment-defaults.awk)
// passes selfcheck. A comment line that reads as a key, or a default naming
// a file a fresh install lacks, fails here in seconds instead of at the end
// of the package tests.
func TestPackagedDefaultsSelfcheck(t *testing.T) {
	if _, err := exec.LookPath("awk"); err != nil {
		testenv.Missing(t, "awk", "%v", err)
	}
	out, err := exec.Command("awk", "-f", "../../packaging/uncomment-defaults.awk", "../../packaging/agent/agent.toml").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte("\n[[scanner]]\n")) {
		t.Fatal("no scanner example uncommented: the awk rule and agent.toml disagree")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "agent-defaults.toml")
	if err := os.WriteFile(conf, out, 0o600); err != nil {
		t.Fatal(err)
	}
	var msg bytes.Buffer
	if err := run(context.Background(), []string{"selfcheck", "-config", conf, "-state-dir", filepath.Join(dir, "state")}, &msg, &msg); err != nil {
		t.Fatalf("selfcheck of the uncommented defaults: %v\n%s", err, msg.String())
	}
	if !strings.Contains(msg.String(), "config valid") {
		t.Errorf("selfcheck said %q, want config valid", msg.String())
	}
}
