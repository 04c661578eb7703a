// Package configfile reads the TOML configuration files of the agent and
// the screen, one way for both: over the defaults already in the value, and
// with every key the value does not have reported as an error, so that a
// misspelt option is never silently ignored; and it owns [Duration], the one
// way a duration is written in the agent's and the scanners' files. It owns
// no defaults and no validation; those belong to each binary's config type.
package configfile

import (
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

// UnknownKeysError lists the keys of a file that the configuration does
// not have, dotted ("pos.allowed_orgins"), in file order.
type UnknownKeysError struct {
	Path string
	Keys []string
}

func (e *UnknownKeysError) Error() string {
	return fmt.Sprintf("config %s: unknown keys: %s", e.Path, strings.Join(e.Keys, ", "))
}

// Load decodes the TOML file at path into v (a pointer), over what v
// already holds. A key v has no place for is an *UnknownKeysError.
func Load(path string, v any) error {
	md, err := toml.DecodeFile(path, v)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return &UnknownKeysError{Path: path, Keys: keys}
	}
	return nil
}
