package redisfeed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"

	"github.com/posdisplay/posdisplay/register/atomicfile"
)

// Saved is a followed register's position: the stream it follows and the id
// of the last entry applied. The cart itself is the cart store's.
//
// Ordering: the POS side's Apply returns only once the cart it produced is
// on disk (register/store's group commit, docs/protocol.md "Durability");
// the worker then hands the id to the position committer and waits for it
// to be on disk before it applies the register's next entry. So the saved
// id is never ahead of the stored cart, and at most one entry behind it:
// after a crash the agent restarts on the stored cart and applies the
// entries after the id, once each, except at most the one entry whose id
// the crash interrupted, which is applied again onto the cart it produced
// itself and changes no line.
type Saved struct {
	Stream string `json:"stream"`
	LastID string `json:"last_id"`
}

// savedFile is the one file of every followed register's position: one
// atomic write covers the positions of every register that moved since the
// last one (a group commit, like the cart store's), so 200 registers cost
// one write per fsync time, not 200.
type savedFile struct {
	Version   int              `json:"version"`
	Positions map[string]Saved `json:"positions"`
}

// savedVersion is the layout of the file; another version is ignored.
const savedVersion = 1

func positionPath(stateDir string) string {
	return filepath.Join(stateDir, "redis", "positions.json")
}

// LoadPositions returns the saved positions of cfg's registers that name
// the stream cfg follows now; a register without one starts from the
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

// committer writes positions: workers call commit and wait; one write
// covers every position committed before it started.
type committer struct {
	f    *Feed
	wake chan struct{}

	mu      sync.Mutex
	pos     map[string]Saved // the newest position of each register
	waiters []chan struct{}  // closed once a write covering them ends
}

func newCommitter(f *Feed, saved map[string]Saved) *committer {
	pos := map[string]Saved{}
	for r, s := range saved {
		pos[r] = s
	}
	return &committer{f: f, wake: make(chan struct{}, 1), pos: pos}
}

// commit records r's position and returns a channel closed once it is on
// disk (or the write failed, which is logged and counted).
func (c *committer) commit(r *following, id string) <-chan struct{} {
	done := make(chan struct{})
	c.mu.Lock()
	c.pos[r.name] = Saved{Stream: r.key, LastID: id}
	c.waiters = append(c.waiters, done)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return done
}

// loop writes until ctx ends, then once more for what is left.
func (c *committer) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			c.write()
			return
		case <-c.wake:
			c.write()
		}
	}
}

func (c *committer) write() {
	c.mu.Lock()
	waiters := c.waiters
	c.waiters = nil
	file := savedFile{Version: savedVersion, Positions: maps.Clone(c.pos)}
	c.mu.Unlock()
	defer func() {
		for _, w := range waiters {
			close(w)
		}
	}()
	if len(waiters) == 0 {
		return
	}
	data, err := json.Marshal(file)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(positionPath(c.f.opts.StateDir)), 0o750)
	}
	if err == nil {
		err = atomicfile.Write(positionPath(c.f.opts.StateDir), data, 0o640)
	}
	if err != nil {
		c.f.m.positionErrors.Inc()
		c.f.log.Error("persist redis positions failed: after a restart the entries since the last saved ones apply again", "err", err)
	}
}
