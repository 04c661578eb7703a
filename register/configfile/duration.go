package configfile

import (
	"fmt"
	"time"
)

// Duration is a time.Duration written as a Go duration string ("20s",
// "500ms") in TOML and in JSON, the one duration type of the agent's and
// the scanners' configuration. A bare number is an error rather than
// nanoseconds: "ping_interval = 5" is a mistake, never 5 ns. Convert with
// time.Duration(d).
type Duration time.Duration

// String is time.Duration's form, so that logs and messages print "2m0s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: want a value such as 20s or 500ms", b)
	}
	*d = Duration(v)
	return nil
}
