// Package store persists the last cart of each register in a state
// directory, atomically (write to a temporary file, fsync, rename, fsync the
// directory), so that a restarted agent shows the right cart at once.
//
// Saves are asynchronous and coalesced: the caller never waits for the disk,
// a register's file is written at most every WriteInterval (a cashier
// scanning fast would otherwise fsync dozens of times a second, which costs
// CPU and wears a Raspberry Pi's SD card), and only the newest cart of a
// register is kept for the next write. Close writes whatever is pending. A
// crash can thus lose at most the last WriteInterval of changes on disk;
// the POS page re-sends its cart when it reconnects.
package store

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/posdisplay/posdisplay/register/atomicfile"
	"github.com/posdisplay/posdisplay/register/cart"
)

// Store is the on-disk cart store.
type Store struct {
	dir string
	log *slog.Logger

	mu      sync.Mutex
	pending map[string]cart.Cart
	wake    chan struct{}
	stop    chan struct{}
	closed  bool
	done    chan struct{}
}

// WriteInterval is the shortest time between two writes of the store.
const WriteInterval = 250 * time.Millisecond

// Open creates dir/carts if needed and starts the writer goroutine.
func Open(dir string, logger *slog.Logger) (*Store, error) {
	d := filepath.Join(dir, "carts")
	if err := os.MkdirAll(d, 0o750); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	s := &Store{dir: d, log: logger, pending: map[string]cart.Cart{}, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s, nil
}

// Load returns the persisted cart of register. A missing file returns
// fs.ErrNotExist; a corrupt or invalid one returns an error and is left in
// place for inspection (the agent starts with an empty cart).
func (s *Store) Load(register string) (cart.Cart, error) {
	if !cart.ValidID(register) {
		return cart.Cart{}, fmt.Errorf("bad register id %q", register)
	}
	data, err := os.ReadFile(filepath.Join(s.dir, register+".json"))
	if err != nil {
		return cart.Cart{}, err
	}
	var c cart.Cart
	if err := json.Unmarshal(data, &c); err != nil {
		return cart.Cart{}, fmt.Errorf("persisted cart of %s: %w", register, err)
	}
	if err := c.Validate(); err != nil {
		return cart.Cart{}, fmt.Errorf("persisted cart of %s: %w", register, err)
	}
	if c.Register != register {
		return cart.Cart{}, fmt.Errorf("persisted cart of %s names register %q", register, c.Register)
	}
	return c, nil
}

// Save queues c to be written. It never blocks on the disk.
func (s *Store) Save(c cart.Cart) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.pending[c.Register] = c.Clone()
	// Under mu: Close closes wake only after setting closed under mu, so
	// this send never hits a closed channel. It does not block.
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Close writes pending carts and stops the writer. Safe to call twice.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	close(s.wake)
	<-s.done
	return nil
}

func (s *Store) loop() {
	defer close(s.done)
	for {
		_, open := <-s.wake
		s.flush()
		if !open {
			return
		}
		t := time.NewTimer(WriteInterval)
		select {
		case <-t.C:
		case <-s.stop:
			t.Stop()
		}
	}
}

func (s *Store) flush() {
	s.mu.Lock()
	batch := s.pending
	s.pending = map[string]cart.Cart{}
	s.mu.Unlock()
	for reg, c := range batch {
		if err := s.write(reg, c); err != nil {
			s.log.Error("persist cart failed", "register", reg, "err", err)
		}
	}
}

func (s *Store) write(register string, c cart.Cart) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(s.dir, register+".json"), data, 0o640)
}
