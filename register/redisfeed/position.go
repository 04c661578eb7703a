package redisfeed

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/posdisplay/posdisplay/register/atomicfile"
)

// Saved is a followed register's position: the stream it follows and the id
// of the last entry applied. The cart itself is the cart store's.
//
// Ordering: the POS side's Apply returns only once the cart it produced is
// on disk (register/store's group commit, docs/protocol.md "Durability"),
// and the worker writes the id after that. So the saved id is never ahead
// of the saved cart: after a crash the agent restarts on the stored cart
// and applies the entries after the id, once each. At most the one entry
// whose id write the crash interrupted is applied again, onto the cart it
// produced itself, which changes nothing (no delta, an ack at the same seq).
type Saved struct {
	Version int    `json:"version"`
	Stream  string `json:"stream"`
	LastID  string `json:"last_id"`
}

// savedVersion is the layout of the file; another version is ignored.
const savedVersion = 1

func positionPath(stateDir, register string) string {
	return filepath.Join(stateDir, "redis", register+".json")
}

// LoadPositions returns the saved positions of cfg's registers whose file
// names the stream cfg follows now; a register without one starts from the
// newest entry. A corrupt file is reported and ignored.
func LoadPositions(stateDir string, cfg Config) (map[string]Saved, error) {
	cfg.defaults()
	out := map[string]Saved{}
	var errs []error
	for _, r := range cfg.Registers {
		data, err := os.ReadFile(positionPath(stateDir, r))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var s Saved
		if err := json.Unmarshal(data, &s); err != nil {
			errs = append(errs, fmt.Errorf("redis position of %s: %w", r, err))
			continue
		}
		if s.Version != savedVersion || s.Stream != PosKey(cfg.Prefix, cfg.Store, r) {
			continue // another layout or another stream: start from the newest entry
		}
		if _, ok := parseID(s.LastID); !ok {
			errs = append(errs, fmt.Errorf("redis position of %s: bad entry id %q", r, s.LastID))
			continue
		}
		out[r] = s
	}
	return out, errors.Join(errs...)
}

// savePosition writes register r's position after its entry id was applied.
func (f *Feed) savePosition(r *following, id string) {
	data, err := json.Marshal(Saved{Version: savedVersion, Stream: r.key, LastID: id})
	if err == nil {
		err = os.MkdirAll(filepath.Dir(positionPath(f.opts.StateDir, r.name)), 0o750)
	}
	if err == nil {
		err = atomicfile.Write(positionPath(f.opts.StateDir, r.name), data, 0o640)
	}
	if err != nil {
		f.m.positionErrors.Inc()
		f.log.Error("persist redis position failed: after a restart the entries since the last saved one apply again", "register", r.name, "entry", id, "err", err)
	}
}
