package agent

import (
	"errors"
	"net"
	"slices"
	"testing"
)

// configErrorKeys returns the keys of the *ConfigErrors in err (a joined
// error from Validate), in order.
func configErrorKeys(err error) []string {
	var keys []string
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			keys = append(keys, configErrorKeys(e)...)
		}
		return keys
	}
	var ce *ConfigError
	if errors.As(err, &ce) {
		keys = append(keys, ce.Key)
	}
	return keys
}

func TestConfigErrorText(t *testing.T) {
	_, _, cause := net.SplitHostPort("7421")
	for _, tc := range []struct {
		err  *ConfigError
		want string
	}{
		{&ConfigError{Key: "state.dir", Problem: "must be set"}, "state.dir: must be set"},
		{&ConfigError{Key: "pos.listen", Problem: `"7421" must be host:port`, Err: cause}, `pos.listen: "7421" must be host:port: address 7421: missing port in address`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	var ae *net.AddrError
	if err := error(&ConfigError{Key: "pos.listen", Err: cause}); !errors.As(err, &ae) {
		t.Errorf("errors.As(%v, *net.AddrError) = false, want the cause", err)
	}
}

// Every problem is reported, each under its own key.
func TestValidateReportsEveryKey(t *testing.T) {
	c := DefaultConfig()
	c.Currency = "usd"
	c.POS.RateLimit, c.POS.RateBurst = -1, -1
	c.Display.History = 0
	c.State.Dir = ""
	got := configErrorKeys(c.Validate())
	want := []string{"currency", "pos.rate_limit", "pos.rate_burst", "display.history", "state.dir"}
	if !slices.Equal(got, want) {
		t.Errorf("keys = %q, want %q", got, want)
	}
}
