package agent

import (
	"slices"
	"strings"
	"testing"
)

// A short token is reported with the key to fix (issue 21): store IT must
// not have to guess which of three token settings is meant.
func TestShortTokenNamesItsKey(t *testing.T) {
	long := strings.Repeat("a", 16)
	for _, tc := range []struct {
		key string
		set func(*Config)
	}{
		{"display.tokens[1]", func(c *Config) { c.Display.Tokens = []string{long, "short"} }},
		{"pos.bridge_token", func(c *Config) { c.POS.BridgeToken = "short" }},
		{"pos.backend_token", func(c *Config) { c.POS.BackendToken = "short" }},
	} {
		c := DefaultConfig()
		tc.set(&c)
		err := c.Validate()
		if got := configErrorKeys(err); !slices.Equal(got, []string{tc.key}) {
			t.Errorf("%s: got %v, want an error naming %s", tc.key, err, tc.key)
		}
	}
}
