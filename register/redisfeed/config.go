package redisfeed

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/posdisplay/posdisplay/register/cart"
)

// Config is one Redis endpoint and what the agent does on it.
type Config struct {
	// URL is redis://host:port[/db] or rediss://host:port[/db] (TLS). A
	// user and password in the URL are refused: use Username and
	// PasswordFile, so that the config file holds no secret.
	URL string
	// CAFile is a PEM bundle that verifies the server's certificate with
	// rediss:// (default: the system roots).
	CAFile string
	// Username is the ACL user (default: Redis's "default" user).
	Username string
	// PasswordFile holds the password (trailing newline ignored).
	PasswordFile string
	// Prefix and Store name the keys: Prefix:{Store}:REGISTER:pos. The
	// braces make Store a Redis Cluster hash tag, so every key of a store
	// lives in one slot and one XREAD covers all its registers.
	Prefix string
	Store  string
	// Registers are the registers fed from Redis (each one of the agent's).
	Registers []string
	// Scans sends the scans of these registers to Redis instead of to a
	// POS page; ScanGroup is the consumer group the agent creates for the
	// backend (default "pos").
	Scans     bool
	ScanGroup string
	// ScanTTL drops a scan the backend has not acked in time (default 2 min).
	ScanTTL time.Duration
	// Publish also applies carts PUBLISHed on the register's channel
	// (best effort: what is published while the link is down is lost).
	Publish bool
	// PresenceTTL is the lifetime of the presence key (default 15 s); it is
	// refreshed every third of it.
	PresenceTTL time.Duration
	// MaxLen trims the results and scans streams (MAXLEN ~, default 1000).
	MaxLen int64
	// Cluster follows the registers on a Redis Cluster: URL's host is one
	// seed node, ClusterSeeds (host:port) are more; the client learns the
	// slots from them and follows MOVED and ASK redirects. A store's keys
	// share the {Store} hash tag, hence one slot and one node.
	Cluster      bool
	ClusterSeeds []string
}

// Defaults used for zero values.
const (
	DefaultPrefix      = "posdisplay"
	DefaultScanGroup   = "pos"
	DefaultPresenceTTL = 15 * time.Second
	// DefaultMaxLen keeps about 100 results or scans per register: the
	// backend reads them within seconds. An entry costs about the size of
	// its JSON in Redis (290 bytes measured for a one-line cart), so 1000
	// per stream would hold gigabytes for a chain's 20,000 lanes
	// (docs/scale.md).
	DefaultMaxLen = 100
)

func (c *Config) defaults() {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.ScanGroup == "" {
		c.ScanGroup = DefaultScanGroup
	}
	if c.ScanTTL <= 0 {
		c.ScanTTL = 2 * time.Minute
	}
	if c.PresenceTTL <= 0 {
		c.PresenceTTL = DefaultPresenceTTL
	}
	if c.MaxLen <= 0 {
		c.MaxLen = DefaultMaxLen
	}
}

// Validate says what to fix in c; agentRegisters are the agent's registers.
func (c Config) Validate(agentRegisters []string) error {
	c.defaults()
	var errs []error
	u, err := url.Parse(c.URL)
	switch {
	case err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "":
		errs = append(errs, fmt.Errorf("redis.url: %q must be redis://host:port or rediss://host:port", c.URL))
	case u.User != nil:
		errs = append(errs, errors.New("redis.url: must not hold a user or password: set redis.username and redis.password_file"))
	}
	if c.CAFile != "" && (err != nil || u.Scheme != "rediss") {
		errs = append(errs, errors.New("redis.ca_file: needs a rediss:// url"))
	}
	for _, s := range []struct{ key, v string }{{"redis.prefix", c.Prefix}, {"redis.store", c.Store}} {
		if !cart.ValidID(s.v) {
			errs = append(errs, fmt.Errorf("%s: %q must be 1-64 characters of A-Z a-z 0-9 . _ -", s.key, s.v))
		}
	}
	if len(c.Registers) == 0 {
		errs = append(errs, errors.New("redis.registers: name at least one register to follow"))
	}
	mine := map[string]bool{}
	for _, r := range agentRegisters {
		mine[r] = true
	}
	seen := map[string]bool{}
	for _, r := range c.Registers {
		if !mine[r] {
			errs = append(errs, fmt.Errorf("redis.registers: %q is not one of registers", r))
		}
		if seen[r] {
			errs = append(errs, fmt.Errorf("redis.registers: %q listed twice", r))
		}
		seen[r] = true
	}
	if !cart.ValidID(c.ScanGroup) {
		errs = append(errs, fmt.Errorf("redis.scan_group: %q must be 1-64 characters of A-Z a-z 0-9 . _ -", c.ScanGroup))
	}
	if c.PresenceTTL < 3*time.Second || c.PresenceTTL > time.Hour {
		errs = append(errs, fmt.Errorf("redis.presence_ttl: %v must be between 3s and 1h", c.PresenceTTL))
	}
	if len(c.ClusterSeeds) > 0 && !c.Cluster {
		errs = append(errs, errors.New("redis.cluster_seeds: needs redis.cluster = true"))
	}
	for _, a := range c.ClusterSeeds {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("redis.cluster_seeds: %q must be host:port", a))
		}
	}
	if c.Cluster && err == nil && strings.Trim(u.Path, "/") != "" && strings.Trim(u.Path, "/") != "0" {
		errs = append(errs, fmt.Errorf("redis.url: a Redis Cluster has database 0 only, not %q", strings.Trim(u.Path, "/")))
	}
	if c.MaxLen < 10 || c.MaxLen > 1_000_000 {
		errs = append(errs, fmt.Errorf("redis.maxlen: %d must be between 10 and 1000000", c.MaxLen))
	}
	return errors.Join(errs...)
}

// options builds the go-redis options: no retries of its own (the feed
// retries with its own backoff and reports the link's state), no client
// identity or maintenance-notification handshakes (an ACL user of one
// store needs no CLIENT permission).
func (c Config) options() (*redis.Options, error) {
	opt, err := redis.ParseURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("redis.url: %w", err)
	}
	opt.Username = c.Username
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("redis.password_file: %w", err)
		}
		opt.Password = strings.TrimRight(string(b), "\r\n")
	}
	if opt.TLSConfig != nil {
		opt.TLSConfig.MinVersion = tls.VersionTLS12
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("redis.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("redis.ca_file: %s holds no PEM certificate", c.CAFile)
			}
			opt.TLSConfig.RootCAs = pool
		}
	}
	opt.MaxRetries = -1
	opt.DialerRetries = 1
	opt.DialTimeout = 5 * time.Second
	opt.ReadTimeout = 5 * time.Second
	opt.WriteTimeout = 5 * time.Second
	// One connection per blocked XREAD (reader.go, readerKeys), and
	// three for results, scans and presence, which never block long.
	opt.PoolSize = 3 + (len(c.Registers)+readerKeys-1)/readerKeys
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return opt, nil
}

// newClient builds the client: one node, or a Redis Cluster.
func (c Config) newClient(opt *redis.Options) redis.UniversalClient {
	if !c.Cluster {
		return redis.NewClient(opt)
	}
	return redis.NewClusterClient(c.clusterOptions(opt))
}

// clusterOptions carries opt to a cluster client: the same timeouts,
// credentials and TLS for every node, and the pool size per node. The
// cluster client follows MOVED and ASK (MaxRedirects); it also resends a
// command after a network error, which is why a scan's XADD goes to its
// node's own client instead (exactOnce). It reads the slot map with
// CLUSTER SLOTS (ACL: +cluster|slots).
func (c Config) clusterOptions(opt *redis.Options) *redis.ClusterOptions {
	return &redis.ClusterOptions{
		Addrs:    append([]string{opt.Addr}, c.ClusterSeeds...),
		Username: opt.Username, Password: opt.Password, TLSConfig: opt.TLSConfig,
		MaxRedirects: 3, MaxRetries: -1, DialerRetries: opt.DialerRetries,
		DialTimeout: opt.DialTimeout, ReadTimeout: opt.ReadTimeout, WriteTimeout: opt.WriteTimeout,
		PoolSize: opt.PoolSize, DisableIdentity: true,
		// Every command of the feed names keys of one slot; routing
		// policies (for commands that span nodes) would fetch COMMAND,
		// which the store's ACL user need not have.
		DisableRoutingPolicies:   true,
		MaintNotificationsConfig: opt.MaintNotificationsConfig,
	}
}
