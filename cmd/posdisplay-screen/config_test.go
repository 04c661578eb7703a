package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/posdisplay/posdisplay/register/configfile"
)

// TestExampleConfig: the shipped example documents every key, and with all
// of them uncommented it loads (no unknown keys) and validates.
func TestExampleConfig(t *testing.T) {
	b, err := os.ReadFile("screen.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	// Uncomment "# key = value" lines (not prose).
	re := regexp.MustCompile(`(?m)^# ([a-z_]+ = .*)$`)
	uncommented := re.ReplaceAllString(string(b), "$1")
	uncommented = strings.Replace(uncommented, `logo = "/etc/posdisplay/logo.svg"`, `logo = ""`, 1)
	uncommented = strings.Replace(uncommented, `agent_url = "ws://127.0.0.1:7422/v1/display"`, `agent_url = ""`, 1)
	p := filepath.Join(t.TempDir(), "screen.toml")
	if err := os.WriteFile(p, []byte(uncommented), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := defaultFileConfig()
	if err := loadConfig(p, &cfg); err != nil {
		t.Fatalf("example with every key set: %v", err)
	}
	if err := cfg.validate(); err != nil {
		t.Fatalf("example with every key set: %v", err)
	}
	if cfg.Connection.Fallback != "192.168.10.21:7422" || cfg.Config.Timing.StaleHide.String() != "3s" {
		t.Fatalf("keys not applied: %+v", cfg.Connection)
	}
	if err := os.WriteFile(p, []byte("[connection]\nfalback = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var uk *configfile.UnknownKeysError
	if err := loadConfig(p, &cfg); !errors.As(err, &uk) || !slices.Equal(uk.Keys, []string{"connection.falback"}) {
		t.Fatalf("misspelt key: got %v", err)
	}
}
