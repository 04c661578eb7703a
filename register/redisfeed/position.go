package redisfeed

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// Saved is a followed register's position: the stream it follows and the id
// of the last entry applied. It lives in the register's cart file, written
// by the same atomic write as the cart it produced (register/store
// Position, Advance), so after a crash the stored cart and the saved id
// always agree: the agent resumes after that id, and every entry is
// applied exactly once. The worker applies a register's next entry without
// waiting for that write; only the entry's result waits for it.
//
// Agents before this layout kept positions in one file of their own,
// STATE_DIR/redis/positions.json, written after the cart (saved id at most
// one entry behind the cart). That file is still read for a register whose
// cart file holds no position yet, never written, and removed once every
// followed register has its position in the cart store.
type Saved struct {
	Stream string `json:"stream"`
	LastID string `json:"last_id"`
}

// savedFile is the legacy file of every followed register's position.
type savedFile struct {
	Version   int              `json:"version"`
	Positions map[string]Saved `json:"positions"`
}

// savedVersion is the layout of the file; another version is ignored.
const savedVersion = 1

func positionPath(stateDir string) string {
	return filepath.Join(stateDir, "redis", "positions.json")
}

// LoadPositions returns the positions of cfg's registers in the legacy
// positions file that name the stream cfg follows now; a register without one starts from the
// newest entry. A corrupt file is reported and ignored.
func LoadPositions(stateDir string, cfg Config) (map[string]Saved, error) {
	cfg.defaults()
	out := map[string]Saved{}
	data, err := os.ReadFile(positionPath(stateDir))
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	var f savedFile
	if err := json.Unmarshal(data, &f); err != nil {
		return out, fmt.Errorf("redis positions: %w", err)
	}
	if f.Version != savedVersion {
		return out, nil // another layout: start from the newest entries
	}
	var errs []error
	for _, r := range cfg.Registers {
		s, ok := f.Positions[r]
		if !ok || s.Stream != PosKey(cfg.Prefix, cfg.Store, r) {
			continue // another stream: start from the newest entry
		}
		if _, ok := parseID(s.LastID); !ok {
			errs = append(errs, fmt.Errorf("redis position of %s: bad entry id %q", r, s.LastID))
			continue
		}
		out[r] = s
	}
	return out, errors.Join(errs...)
}

// initialPositions returns where each register resumes: its position in
// the cart store when that names the stream cfg follows now, else the
// legacy positions file's. The legacy file is removed when no register
// needs it any more.
func initialPositions(stateDir string, cfg Config, store Positions, log *slog.Logger) map[string]Saved {
	out := map[string]Saved{}
	var missing bool
	for _, r := range cfg.Registers {
		p, ok := store.Position(r)
		if ok && p.Stream == PosKey(cfg.Prefix, cfg.Store, r) {
			if _, valid := parseID(p.LastID); valid {
				out[r] = Saved{Stream: p.Stream, LastID: p.LastID}
				continue
			}
			log.Warn("ignoring bad redis position in the cart store", "register", r, "last_id", p.LastID)
		}
		missing = true
	}
	if !missing {
		if err := os.Remove(positionPath(stateDir)); err == nil {
			log.Info("removed the legacy redis positions file: every position is in the cart store")
		}
		return out
	}
	legacy, err := LoadPositions(stateDir, cfg)
	if err != nil {
		log.Warn("ignoring saved redis positions", "err", err)
	}
	for r, s := range legacy {
		if _, ok := out[r]; !ok {
			out[r] = s
		}
	}
	return out
}
