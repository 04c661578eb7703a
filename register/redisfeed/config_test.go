package redisfeed

import (
	"strings"
	"testing"
)

// TestValidateCluster: the cluster keys say what to fix.
func TestValidateCluster(t *testing.T) {
	base := Config{URL: "redis://10.0.0.1:6379", Store: "s1", Registers: []string{"1"}}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // in the error; "" = valid
	}{
		{"cluster", func(c *Config) { c.Cluster = true }, ""},
		{"cluster with seeds", func(c *Config) { c.Cluster, c.ClusterSeeds = true, []string{"10.0.0.2:6379", "r3.example:6380"} }, ""},
		{"seeds without cluster", func(c *Config) { c.ClusterSeeds = []string{"10.0.0.2:6379"} }, "redis.cluster_seeds: needs redis.cluster = true"},
		{"seed without port", func(c *Config) { c.Cluster, c.ClusterSeeds = true, []string{"10.0.0.2"} }, `redis.cluster_seeds: "10.0.0.2" must be host:port`},
		{"database 2", func(c *Config) { c.Cluster, c.URL = true, "redis://10.0.0.1:6379/2" }, "database 0 only"},
		{"database 0", func(c *Config) { c.Cluster, c.URL = true, "redis://10.0.0.1:6379/0" }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.edit(&c)
			err := c.Validate([]string{"1"})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("got %v, want valid", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestClusterOptions: the cluster client gets the seeds, the credentials
// and the single-node client's no-retry settings.
func TestClusterOptions(t *testing.T) {
	c := Config{URL: "redis://10.0.0.1:6379", Cluster: true, ClusterSeeds: []string{"10.0.0.2:6379"}, Registers: []string{"1"}, Username: "store-s1"}
	opt, err := c.options()
	if err != nil {
		t.Fatal(err)
	}
	co := c.clusterOptions(opt)
	if got := strings.Join(co.Addrs, ","); got != "10.0.0.1:6379,10.0.0.2:6379" {
		t.Errorf("addrs: got %s, want the url's host then the seeds", got)
	}
	if co.Username != "store-s1" || co.MaxRetries != -1 || !co.DisableRoutingPolicies || !co.DisableIdentity || co.PoolSize != opt.PoolSize {
		t.Errorf("cluster options: got %+v", co)
	}
}
