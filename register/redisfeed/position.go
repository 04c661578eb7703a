package redisfeed

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/posdisplay/posdisplay/register/atomicfile"
	"github.com/posdisplay/posdisplay/register/cart"
)

// Saved is what the agent keeps per followed register, in one file: the
// stream it followed, the id of the last entry applied and the register's
// cart at that moment. Both are taken under the register's feed lock,
// which is held across applying an entry and advancing the id, so the
// file never holds an id whose cart it lacks nor a cart without its id.
type Saved struct {
	Version int       `json:"version"`
	Stream  string    `json:"stream"`
	LastID  string    `json:"last_id"`
	Cart    cart.Cart `json:"cart"`
}

// savedVersion is the layout of the file; another version is ignored.
const savedVersion = 1

// WriteInterval is the shortest time between two writes of a register's
// position file: like the cart store, a crash loses at most this much, and
// then consistently (the cart and the id together), so the entries after
// the saved id are applied again, once.
const WriteInterval = 250 * time.Millisecond

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
		if err := s.Cart.Validate(); err != nil || s.Cart.Register != r {
			errs = append(errs, fmt.Errorf("redis position of %s: bad cart: %v", r, err))
			continue
		}
		out[r] = s
	}
	return out, errors.Join(errs...)
}

// flushPositions writes the file of every register whose cart or id
// changed since its last write.
func (f *Feed) flushPositions() {
	f.writeMu.Lock()
	defer f.writeMu.Unlock()
	for _, r := range f.order {
		seq := f.opts.Carts(r.name).Position().Seq
		r.mu.Lock()
		if seq == r.savedSeq && r.lastID == r.savedID {
			r.mu.Unlock()
			continue
		}
		// Re-read under the lock: the cart and the id of one moment.
		src := f.opts.Carts(r.name)
		seq = src.Position().Seq
		s := Saved{Version: savedVersion, Stream: r.key, LastID: r.lastID, Cart: src.Cart()}
		r.mu.Unlock()
		if s.LastID == "" {
			continue // nothing applied yet: no position to keep
		}
		data, err := json.Marshal(s)
		if err == nil {
			err = os.MkdirAll(filepath.Dir(positionPath(f.opts.StateDir, r.name)), 0o750)
		}
		if err == nil {
			err = atomicfile.Write(positionPath(f.opts.StateDir, r.name), data, 0o640)
		}
		if err != nil {
			f.log.Error("persist redis position failed", "register", r.name, "err", err)
			continue
		}
		r.savedSeq, r.savedID = seq, s.LastID
	}
}

// Flush writes every changed position now. The agent calls it after the
// POS side has closed, so that a page's last cart is kept with the id.
func (f *Feed) Flush() { f.flushPositions() }
