package agent

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/posdisplay/posdisplay/discovery"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/configfile"
	"github.com/posdisplay/posdisplay/scanner"
)

// DefaultConfigPath is where the Debian package installs the config file.
const DefaultConfigPath = "/etc/posdisplay/agent.toml"

// Config is the agent's configuration file (TOML). Every key is documented
// in packaging/agent/agent.toml, which ships as the package's conffile.
type Config struct {
	// Registers this agent serves; POS pages and displays name one of them.
	Registers []string `toml:"registers"`
	// Currency of the empty cart before the first sale (ISO 4217).
	Currency string `toml:"currency"`
	// AgentID identifies this agent to displays (default: the hostname).
	AgentID  string `toml:"agent_id"`
	LogLevel string `toml:"log_level"`
	LogJSON  bool   `toml:"log_json"`

	// Scanners are the barcode scanners of this terminal, as [[scanner]]
	// tables; each names the register its scans go to.
	Scanners []ScannerConfig `toml:"scanner"`
	// ScanTTL bounds how long a scan waits for the POS page's ack before it
	// is dropped and reported.
	ScanTTL configfile.Duration `toml:"scan_ttl"`
	// Poles are the pole displays (2×20 VFDs on serial ports), as [[pole]]
	// tables; each follows one register (see poles.go).
	Poles []PoleConfig `toml:"pole"`

	POS       POSConfig       `toml:"pos"`
	Display   DisplayConfig   `toml:"display"`
	Discovery DiscoveryConfig `toml:"discovery"`
	State     StateConfig     `toml:"state"`
	Demo      DemoConfig      `toml:"demo"`
	Redis     RedisConfig     `toml:"redis"`
}

// ScannerConfig is one scanner and the register it feeds (default: the
// first register). The scanner keys are documented in
// packaging/agent/agent.toml.
type ScannerConfig struct {
	Register       string `toml:"register"`
	scanner.Config `toml:",inline"`
}

// POSConfig is the local listener for the POS page, health and metrics.
type POSConfig struct {
	Listen             string   `toml:"listen"`
	AllowedOrigins     []string `toml:"allowed_origins"`
	AllowMissingOrigin bool     `toml:"allow_missing_origin"`
	BridgeToken        string   `toml:"bridge_token"`
	BackendToken       string   `toml:"backend_token"`
	MaxMessageBytes    int64    `toml:"max_message_bytes"`
	RateLimit          float64  `toml:"rate_limit"`
	RateBurst          float64  `toml:"rate_burst"`
	// MaxConnections bounds the connections the POS listener holds
	// (default 256); see connectionBudget.
	MaxConnections int `toml:"max_connections"`
}

// DisplayConfig is the listener displays connect to.
type DisplayConfig struct {
	Listen string `toml:"listen"`
	// Tokens are static display tokens (each may follow any register).
	Tokens       []string            `toml:"tokens"`
	QueueFrames  int                 `toml:"queue_frames"`
	History      int                 `toml:"history"`
	PingInterval configfile.Duration `toml:"ping_interval"`
	// MaxConnections bounds the connections the display listener holds;
	// 0 (the default) takes what the descriptor limit leaves after the
	// POS listener's budget, at most 2048.
	MaxConnections int `toml:"max_connections"`
	// TLS serves the display listener over TLS with the agent's own
	// self-signed certificate (state dir tls/), pinned by paired screens.
	TLS bool `toml:"tls"`
	// CertFile and KeyFile are a certificate from the store's own CA and
	// its key (PEM), served to browsers (web displays on tablets that
	// trust that CA) while screens keep their pinned certificate; re-read
	// when they change. Both or neither; they need TLS.
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
}

// DiscoveryConfig controls the mDNS announcement of the registers.
type DiscoveryConfig struct {
	Advertise bool `toml:"advertise"`
	// Interfaces restricts announcements to these network interfaces
	// (default: every multicast-capable interface that is up).
	Interfaces []string `toml:"interfaces"`
	// Names are display-friendly register names shown at pairing, by
	// register id (default "Register <id>").
	Names map[string]string `toml:"names"`
}

// StateConfig says where the agent keeps its state.
type StateConfig struct {
	Dir string `toml:"dir"`
}

// DemoConfig runs the demo helpers. Never enable them on a real till.
type DemoConfig struct {
	// Cashier rings up a simulated basket on the first register, forever.
	Cashier bool                `toml:"cashier"`
	Pace    configfile.Duration `toml:"pace"`
	// Page serves the demo cashier page at /demo/ on the POS listener and
	// allows that page's own origin.
	Page bool `toml:"page"`
}

// queueHeadroom is the room a display's queue keeps beyond a full POS
// burst (pos.rate_burst changes at once): the writer's wake marks (resync,
// ping, shutdown: one each) and scan cues. With a queue of 64 and a burst
// of 100, a burst within the POS's limits pushed every display, healthy or
// not, onto the snapshot path.
// A burst larger than any queue (pos.rate_burst above maxQueueFrames - 8,
// in effect no rate limit, as load tests configure) is not checked.
const queueHeadroom = 8

// maxQueueFrames bounds display.queue_frames.
const maxQueueFrames = 4096

// queueFrames is the display queue the agent uses: display.queue_frames,
// raised to pos.rate_burst + queueHeadroom when smaller, so that a burst
// within the POS's limits fits a healthy display's queue. Raised rather
// than refused: a conffile edited for an older agent (queue_frames = 64,
// its default then) must not stop the register's displays after an upgrade.
func (c Config) queueFrames() (n int, raised bool) {
	n = c.Display.QueueFrames
	burst := c.POS.RateBurst
	if burst > 0 && burst+queueHeadroom <= maxQueueFrames && float64(n) < burst+queueHeadroom {
		return int(math.Ceil(burst)) + queueHeadroom, true
	}
	return n, false
}

// DefaultConfig is the built-in configuration: one register, the POS
// listener on localhost, plain WebSocket displays and no mDNS. The packaged
// config file turns on TLS and mDNS for real stores.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Registers: []string{"1"},
		Currency:  "USD",
		AgentID:   sanitizeID(host),
		LogLevel:  "info",
		POS: POSConfig{
			Listen:          "127.0.0.1:7421",
			AllowedOrigins:  []string{"http://localhost", "http://127.0.0.1"},
			MaxMessageBytes: 2 << 20,
			RateLimit:       50,
			RateBurst:       100,
		},
		// TLS and mDNS are on in the packaged config file
		// (packaging/agent/agent.toml); the bare binary, as used by
		// developers, demos and tests, announces nothing on the network.
		Display:   DisplayConfig{Listen: ":7422", QueueFrames: 128, History: 256, PingInterval: configfile.Duration(2 * time.Second)},
		Discovery: DiscoveryConfig{},
		State:     StateConfig{Dir: "/var/lib/posdisplay"},
		Demo:      DemoConfig{Pace: configfile.Duration(700 * time.Millisecond)},
		ScanTTL:   configfile.Duration(2 * time.Minute),
	}
}

func sanitizeID(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 128 && discovery.ValidateID(string(r)) == nil {
			b.WriteRune(r)
		}
		if b.Len() == discovery.MaxIDLen {
			break
		}
	}
	if b.Len() == 0 {
		return "agent"
	}
	return b.String()
}

// LoadConfig reads path over the defaults. Unknown keys are an
// *configfile.UnknownKeysError, so that a misspelt option is reported
// instead of silently ignored.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	err := configfile.Load(path, &cfg)
	return cfg, err
}

// Register id rules, worded as packaging/agent/agent.toml states them (a
// test holds the file's comment to these words).
const (
	// RegisterIDRule is what POS pages and displays accept (cart.ValidID).
	RegisterIDRule = "1-64 characters of A-Z a-z 0-9 . _ -"
	// AnnouncedRegisterIDRule is the stricter rule while mDNS announces
	// the registers (discovery.ValidateID): a "." would split the DNS-SD
	// name, and "<agent>-<register>" must fit a 63-byte DNS label.
	AnnouncedRegisterIDRule = `1-31 characters of A-Z a-z 0-9 _ - (no ".") while discovery.advertise is on`
)

// ConfigError is one problem with one key of the agent's configuration.
// Validate returns every problem it finds, joined; errors.As finds them.
type ConfigError struct {
	// Key is the key as written in the file, dotted and indexed:
	// "pos.listen", "display.tokens[1]", "pole[0].register".
	Key string
	// Problem says what is wrong and how to fix it, for people.
	Problem string
	// Err is the cause another package reported, or nil.
	Err error
}

// Error is "key: problem", then ": cause" when there is one.
func (e *ConfigError) Error() string {
	s := e.Key + ": " + e.Problem
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause, if any.
func (e *ConfigError) Unwrap() error { return e.Err }

// configErrors collects Validate's problems.
type configErrors []error

// add records a problem with key.
func (errs *configErrors) add(key, format string, args ...any) {
	*errs = append(*errs, &ConfigError{Key: key, Problem: fmt.Sprintf(format, args...)})
}

// wrap records a problem with key that another package's err explains.
func (errs *configErrors) wrap(key string, err error, format string, args ...any) {
	*errs = append(*errs, &ConfigError{Key: key, Problem: fmt.Sprintf(format, args...), Err: err})
}

// Validate checks the configuration and says what to fix: each problem is
// a *ConfigError naming its key (scanner and Redis problems are those
// packages' own errors).
func (c *Config) Validate() error {
	var errs configErrors
	if len(c.Registers) == 0 {
		errs.add("registers", "at least one register is needed")
	}
	seen := map[string]bool{}
	for _, r := range c.Registers {
		switch {
		case !cart.ValidID(r):
			errs.add("registers", "%q must be %s", r, RegisterIDRule)
		case c.Discovery.Advertise && discovery.ValidateID(r) != nil:
			errs.add("registers", "%q must be %s (or set discovery.advertise = false)", r, AnnouncedRegisterIDRule)
		}
		if seen[r] {
			errs.add("registers", "%q listed twice", r)
		}
		seen[r] = true
	}
	if !cart.ValidCurrency(c.Currency) {
		errs.add("currency", "%q is not an ISO 4217 code", c.Currency)
	}
	if err := discovery.ValidateID(c.AgentID); err != nil {
		errs.wrap("agent_id", err, "%q", c.AgentID)
	}
	if c.Discovery.Advertise {
		if !c.Display.TLS {
			errs.add("discovery.advertise", "needs display.tls: screens pin the announced certificate")
		}
	}
	if (c.Display.CertFile == "") != (c.Display.KeyFile == "") {
		missing := "display.key_file"
		if c.Display.CertFile == "" {
			missing = "display.cert_file"
		}
		errs.add(missing, "set both display.cert_file and display.key_file, or neither")
	}
	if c.Display.CertFile != "" && !c.Display.TLS {
		errs.add("display.cert_file", "needs display.tls = true")
	}
	for r, name := range c.Discovery.Names {
		if !seen[r] {
			errs.add("discovery.names", "%q is not one of registers", r)
		}
		if name == "" || len(name) > 64 {
			errs.add("discovery.names."+r, "must be 1-64 bytes")
		}
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		errs.add("log_level", "%q must be debug, info, warn or error", c.LogLevel)
	}
	for _, l := range []struct{ key, v string }{{"pos.listen", c.POS.Listen}, {"display.listen", c.Display.Listen}} {
		if _, _, err := net.SplitHostPort(l.v); err != nil {
			errs.wrap(l.key, err, "%q must be host:port", l.v)
		}
	}
	if host, _, err := net.SplitHostPort(c.POS.Listen); err == nil && c.POS.BridgeToken == "" {
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			errs.add("pos.listen", "%q is reachable from the network, where anyone can fake an Origin header: set pos.bridge_token, or listen on 127.0.0.1", c.POS.Listen)
		}
	}
	for _, o := range c.POS.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs.add("pos.allowed_origins", "%q must be scheme://host[:port], e.g. https://pos.example.com", o)
		}
	}
	if c.POS.MaxMessageBytes < 16<<10 || c.POS.MaxMessageBytes > 16<<20 {
		errs.add("pos.max_message_bytes", "%d must be between 16384 and 16777216", c.POS.MaxMessageBytes)
	}
	for _, n := range []struct {
		key string
		v   float64
	}{{"pos.rate_limit", c.POS.RateLimit}, {"pos.rate_burst", c.POS.RateBurst}, {"pos.max_connections", float64(c.POS.MaxConnections)}, {"display.max_connections", float64(c.Display.MaxConnections)}} {
		if n.v < 0 {
			errs.add(n.key, "%v must be >= 0 (0 = default)", n.v)
		}
	}
	for i, t := range c.Display.Tokens {
		errs.shortToken(fmt.Sprintf("display.tokens[%d]", i), t)
	}
	errs.shortToken("pos.bridge_token", c.POS.BridgeToken)
	errs.shortToken("pos.backend_token", c.POS.BackendToken)
	if c.Display.QueueFrames < 1 || c.Display.QueueFrames > maxQueueFrames {
		errs.add("display.queue_frames", "%d must be 1-%d", c.Display.QueueFrames, maxQueueFrames)
	}
	if c.Display.History < 1 || c.Display.History > 100000 {
		errs.add("display.history", "%d must be 1-100000", c.Display.History)
	}
	var scs []scanner.Config
	for i, sc := range c.Scanners {
		if sc.Register != "" && !seen[sc.Register] {
			errs.add(fmt.Sprintf("scanner[%d].register", i), "%q is not one of registers", sc.Register)
		}
		scs = append(scs, sc.Config)
	}
	if len(scs) > 0 {
		if err := scanner.ValidateConfigs(scs); err != nil {
			errs = append(errs, err) // *scanner.ConfigError, naming scanner and key
		}
	}
	// Durations: 0 takes the default; anything else within sane bounds (a
	// 1 ns ping interval or cashier pace would spin a CPU).
	for _, d := range []struct {
		key      string
		v        time.Duration
		min, max time.Duration
	}{
		{"scan_ttl", time.Duration(c.ScanTTL), 100 * time.Millisecond, time.Hour},
		{"display.ping_interval", time.Duration(c.Display.PingInterval), time.Second, 5 * time.Minute},
		{"demo.pace", time.Duration(c.Demo.Pace), 50 * time.Millisecond, time.Minute},
	} {
		if d.v != 0 && (d.v < d.min || d.v > d.max) {
			errs.add(d.key, "%v must be between %v and %v", d.v, d.min, d.max)
		}
	}
	if c.State.Dir == "" {
		errs.add("state.dir", "must be set")
	}
	c.validatePoles(&errs, seen)
	errs = append(errs, c.validateRedis())
	return errors.Join(errs...)
}

// shortToken records a token under 16 characters (empty means unset).
func (errs *configErrors) shortToken(key, t string) {
	if t != "" && len(t) < 16 {
		errs.add(key, "tokens must be at least 16 characters (use `openssl rand -hex 16`)")
	}
}
