package main

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/posdisplay/posdisplay/display"
	"github.com/posdisplay/posdisplay/register/configfile"
)

// DefaultConfigPath is where the Debian package installs the config file.
const DefaultConfigPath = "/etc/posdisplay/screen.toml"

// fileConfig is /etc/posdisplay/screen.toml: how to reach the register, and
// the look of the screens. Every key is documented in screen.toml.example.
type fileConfig struct {
	Connection     connection `toml:"connection"`
	display.Config `toml:",inline"`
}

type connection struct {
	// Name is how this screen is listed to store IT when pairing.
	Name string `toml:"name"`
	// StateDir keeps the pairing (token and pinned certificate, 0600) and
	// the last good agent address.
	StateDir string `toml:"state_dir"`
	// Discovery finds the paired register over mDNS (default true).
	Discovery bool `toml:"discovery"`
	// Interfaces restricts mDNS browsing to these interfaces.
	Interfaces []string `toml:"interfaces"`
	// Fallback is the agent's address (host:port or wss:// URL) to try when
	// multicast does not reach the register (VLANs), and to pair with.
	Fallback string `toml:"fallback"`
	// AgentURL, Register, Token and Fingerprint connect without pairing or
	// discovery (a second screen on the register itself, or tests).
	AgentURL    string `toml:"agent_url"`
	Register    string `toml:"register"`
	Token       string `toml:"token"`
	Fingerprint string `toml:"fingerprint"`
}

func defaultFileConfig() fileConfig {
	return fileConfig{
		Connection: connection{Name: hostName(), StateDir: defaultStateDir(), Discovery: true},
		Config:     display.DefaultConfig(),
	}
}

// defaultStateDir is the user's state directory: the kiosk runs the screen
// as the desktop user, so the pairing lives in $XDG_STATE_HOME (by default
// ~/.local/state)/posdisplay-screen.
func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "posdisplay-screen")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "posdisplay-screen")
	}
	return filepath.Join(os.TempDir(), "posdisplay-screen")
}

func loadConfig(path string, cfg *fileConfig) error { return configfile.Load(path, cfg) }

func (c *fileConfig) validate() error {
	var errs []error
	if err := c.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	cn := c.Connection
	if cn.AgentURL != "" && (cn.Register == "" || cn.Token == "") {
		errs = append(errs, errors.New("connection.agent_url needs connection.register and connection.token"))
	}
	if cn.AgentURL == "" && cn.StateDir == "" {
		errs = append(errs, errors.New("connection.state_dir must be set"))
	}
	if cn.AgentURL == "" && !cn.Discovery && cn.Fallback == "" {
		errs = append(errs, errors.New("with connection.discovery off, set connection.fallback (or agent_url)"))
	}
	return errors.Join(errs...)
}
