package agent

import (
	"fmt"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/configfile"
	"github.com/posdisplay/posdisplay/register/redisfeed"
	"github.com/posdisplay/posdisplay/scanner"
)

// RedisConfig is the [redis] section: carts from a chain's POS backend
// through Redis, the agent dialing out (docs/redis.md). Every key is
// documented in packaging/agent/agent.toml. An empty url turns it off.
type RedisConfig struct {
	URL          string              `toml:"url"`
	CAFile       string              `toml:"ca_file"`
	Username     string              `toml:"username"`
	PasswordFile string              `toml:"password_file"`
	Prefix       string              `toml:"prefix"`
	Store        string              `toml:"store"`
	Registers    []string            `toml:"registers"`
	Scans        bool                `toml:"scans"`
	ScanGroup    string              `toml:"scan_group"`
	Publish      bool                `toml:"publish"`
	PresenceTTL  configfile.Duration `toml:"presence_ttl"`
	MaxLen       int64               `toml:"maxlen"`
	Cluster      bool                `toml:"cluster"`
	ClusterSeeds []string            `toml:"cluster_seeds"`
}

// Enabled reports whether the agent dials out to Redis.
func (r RedisConfig) Enabled() bool { return r.URL != "" }

func (c *Config) redisFeedConfig() redisfeed.Config {
	r := c.Redis
	return redisfeed.Config{
		URL: r.URL, CAFile: r.CAFile, Username: r.Username, PasswordFile: r.PasswordFile,
		Prefix: r.Prefix, Store: r.Store, Registers: r.Registers,
		Scans: r.Scans, ScanGroup: r.ScanGroup, ScanTTL: time.Duration(c.ScanTTL),
		Publish: r.Publish, PresenceTTL: time.Duration(r.PresenceTTL), MaxLen: r.MaxLen,
		Cluster: r.Cluster, ClusterSeeds: r.ClusterSeeds,
	}
}

func (c *Config) validateRedis() error {
	if !c.Redis.Enabled() {
		return nil
	}
	return c.redisFeedConfig().Validate(c.Registers)
}

// newFeed builds the Redis feed, applying through the POS side.
func (a *Agent) newFeed() error {
	if !a.cfg.Redis.Enabled() {
		return nil
	}
	f, err := redisfeed.New(a.cfg.redisFeedConfig(), redisfeed.Options{
		Apply: a.ingest, Positions: a.store,
		Presence: func() []redisfeed.RegisterPresence {
			var out []redisfeed.RegisterPresence
			for _, r := range a.cfg.Registers {
				st := a.streams[r]
				out = append(out, redisfeed.RegisterPresence{Register: r, Seq: st.Position().Seq, Displays: st.Subscribers()})
			}
			return out
		},
		StateDir: a.cfg.State.Dir, AgentID: a.cfg.AgentID, Version: Version, Epoch: a.epoch,
		Limit: a.cfg.POS.MaxMessageBytes, Registry: a.metrics.Registry, Logger: a.log.With("part", "redis"),
	})
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	a.feed = f
	return nil
}

// Feed is the Redis link, or nil when [redis] is off.
func (a *Agent) Feed() *redisfeed.Feed { return a.feed }

// saleChanged tells both scan paths (the POS page's and Redis's) where a
// register's sale is.
func (a *Agent) saleChanged(register string, seq uint64, order string, state cart.State) {
	a.router.SaleChanged(register, seq, order, state)
	if a.feed != nil {
		a.feed.SaleChanged(register, seq, order, state)
	}
}

// SubmitScan routes a scan: to Redis for a register whose scans go there,
// else to the POS page.
func (a *Agent) SubmitScan(register string, s scanner.Scan) string {
	if a.feed != nil && a.feed.ScansToRedis(register) {
		return a.feed.SubmitScan(register, s)
	}
	return a.router.Submit(register, s)
}

// redisHealth adds the link's state to /healthz; a link that is not up
// makes the agent "degraded" (it still serves its displays).
func (a *Agent) redisHealth(h map[string]any) {
	if a.feed == nil {
		return
	}
	s := a.feed.Status()
	h["redis"] = s
	if s.State != redisfeed.StateUp {
		h["status"] = "degraded"
	}
}
