// Package store persists the last cart of each register in a state
// directory, atomically (write to a temporary file, fsync, rename, fsync the
// directory), so that a restarted agent shows the right cart at once.
//
// Writes are group commits: Save queues a register's newest cart and returns
// at once with a channel that reports the outcome of the first write covering
// that cart. One writer goroutine writes whatever is queued; every cart
// accepted while a write is under way is covered by the next one, so a
// cashier scanning fast costs one write per fsync time, not one per scan.
// The POS side waits for that outcome before it acks (see docs/protocol.md,
// "Durability").
//
// A write starts CommitDelay after the Save that woke the writer, not at
// once. The cart is on every display by then: the change's fan-out to the
// displays and the write's own work (create, write, two fsyncs, a rename)
// would otherwise share the register's cores in the same half millisecond,
// and on a 2-core register that put the disk's syscalls between the change
// and the customer (10 displays at 50 changes/s: p99 from 0.76 to 0.59 ms,
// register/loadtest). Every cart accepted during the delay joins the write,
// so a burst also costs fewer writes (and an SD card less wear).
//
// A failed write is kept and retried with backoff (RetryMin doubling to
// RetryMax) until it succeeds; a newer cart of the same register replaces it,
// never the other way round. While any register's write fails, Health
// reports the reason.
//
// A register's file may also carry its Position in an outside feed (the
// last Redis entry applied, register/redisfeed): Advance records it, and the
// same atomic write holds the cart and the position, so after a crash the
// two never disagree. The file is the cart's JSON object with one optional
// member "feed" beside the cart's own: a file written before positions
// existed loads (without a position), and an older agent reading a newer
// file ignores the member and restores the cart.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/posdisplay/posdisplay/register/atomicfile"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/jsonw"
	"github.com/posdisplay/posdisplay/register/metrics"
)

// MaxFileBytes bounds a state file that Load reads. The largest valid cart
// encodes to about 1.8 MiB with every character escaped; a 64 MiB garbage
// file was once read whole (76 MiB peak) before being refused.
const MaxFileBytes = 4 << 20

// Retry delays after a failed write. RetryMax is short so that the last
// acked cart is on disk within about half a second of the disk being
// repaired; a failing write of a few kilobytes twice a second costs nothing.
const (
	RetryMin = 50 * time.Millisecond
	RetryMax = 500 * time.Millisecond
)

// CommitDelay is how long the writer waits, once woken by a Save or an
// Advance, before it takes the queued carts and writes them (see the
// package comment). An ack waits for it: one POS page sending cart after
// cart gets an ack every CommitDelay plus one write, and a cashier's scans
// are hundreds of milliseconds apart.
const CommitDelay = 5 * time.Millisecond

// ErrNotRegular is returned (wrapped) by Load when a register's state path
// exists but is not a regular file: something else owns that path, and the
// agent could never save there.
var ErrNotRegular = errors.New("state path is not a regular file")

// ErrTooLarge is returned (wrapped) by Load for a state file above
// MaxFileBytes; the file is refused without being read.
var ErrTooLarge = errors.New("state file too large")

// ErrClosed is the outcome of a Save after Close: nothing was written.
var ErrClosed = errors.New("store closed")

// Position is where a register's cart stands in an outside feed: the
// stream it follows and the id of the last entry applied to it.
type Position struct {
	Stream string `json:"stream"`
	LastID string `json:"last_id"`
}

// record is a register's file: the cart, and its feed position if any.
// cart.Cart has no JSON methods of its own, so its members stay at the top
// level (the layout of files written before positions existed).
type record struct {
	cart.Cart
	Feed *Position `json:"feed,omitempty"`
}

// Store is the on-disk cart store.
type Store struct {
	dir     string
	log     *slog.Logger
	metrics *metrics.Metrics // may be nil
	// writeFile is atomicfile.Write; tests replace it to fail on purpose.
	writeFile func(path string, data []byte, perm fs.FileMode) error
	// commitDelay is CommitDelay; BenchmarkDurableSave sets it to 0 to
	// measure the write alone. Set before the first Save.
	commitDelay time.Duration

	mu      sync.Mutex
	pending map[string]entry          // newest unwritten cart per register
	waiters map[string][]chan<- error // told the outcome of the next write of that register
	failing map[string]error          // registers whose last write failed
	newest  map[string]entry          // newest cart of each register, loaded or saved
	pos     map[string]Position       // feed position of each register, loaded or advanced
	held    map[string]bool           // registers a feed entry is being applied to (Hold until Advance)
	wake    chan struct{}
	closed  bool
	done    chan struct{}
}

type entry struct {
	c   cart.Cart
	seq uint64
}

// Open creates dir/carts if needed and starts the writer goroutine. m may be
// nil (no metrics).
func Open(dir string, logger *slog.Logger, m *metrics.Metrics) (*Store, error) {
	d := filepath.Join(dir, "carts")
	if err := os.MkdirAll(d, 0o750); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	s := &Store{
		dir: d, log: logger, metrics: m, writeFile: atomicfile.Write, commitDelay: CommitDelay,
		pending: map[string]entry{}, waiters: map[string][]chan<- error{}, failing: map[string]error{},
		newest: map[string]entry{}, pos: map[string]Position{}, held: map[string]bool{},
		wake: make(chan struct{}, 1), done: make(chan struct{}),
	}
	go s.loop()
	return s, nil
}

// Load returns the persisted cart of register. A missing file returns
// fs.ErrNotExist; a path that is not a regular file returns ErrNotRegular; a
// file above MaxFileBytes returns ErrTooLarge without being read; a corrupt or
// invalid one returns an error. Refused files are left in place for
// inspection.
func (s *Store) Load(register string) (cart.Cart, error) {
	if !cart.ValidID(register) {
		return cart.Cart{}, fmt.Errorf("bad register id %q", register)
	}
	path := filepath.Join(s.dir, register+".json")
	fi, err := os.Lstat(path)
	if err != nil {
		return cart.Cart{}, err
	}
	if !fi.Mode().IsRegular() {
		return cart.Cart{}, fmt.Errorf("persisted cart of %s: %s is a %s: %w", register, path, fi.Mode().Type(), ErrNotRegular)
	}
	if fi.Size() > MaxFileBytes {
		return cart.Cart{}, fmt.Errorf("persisted cart of %s: %d bytes, limit %d: %w", register, fi.Size(), MaxFileBytes, ErrTooLarge)
	}
	f, err := os.Open(path)
	if err != nil {
		return cart.Cart{}, err
	}
	defer f.Close()
	// The file may have grown since Lstat: read one byte past the limit.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return cart.Cart{}, fmt.Errorf("persisted cart of %s: %w", register, err)
	}
	if len(data) > MaxFileBytes {
		return cart.Cart{}, fmt.Errorf("persisted cart of %s: above %d bytes: %w", register, MaxFileBytes, ErrTooLarge)
	}
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		return cart.Cart{}, fmt.Errorf("persisted cart of %s: %w", register, err)
	}
	c := rec.Cart
	if err := c.Validate(); err != nil {
		return cart.Cart{}, fmt.Errorf("persisted cart of %s: %w", register, err)
	}
	if c.Register != register {
		return cart.Cart{}, fmt.Errorf("persisted cart of %s names register %q", register, c.Register)
	}
	s.mu.Lock()
	if _, ok := s.newest[register]; !ok {
		s.newest[register] = entry{c: c.Clone()}
	}
	if _, ok := s.pos[register]; !ok && rec.Feed != nil {
		s.pos[register] = *rec.Feed
	}
	s.mu.Unlock()
	return c, nil
}

// Position returns register's feed position: the one Advance recorded
// last, or else the one its file held when Load read it.
func (s *Store) Position(register string) (Position, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pos[register]
	return p, ok
}

// Hold marks register as having a feed entry applied to it: until Advance
// records that entry's position, no write of the register is taken, so a
// cart the entry produced is never written with the position before it
// (which would apply the entry twice after a crash). The cart stays queued
// meanwhile (Save still returns at once) and the next write holds both.
// Call it just before applying the entry, and Advance just after, always.
func (s *Store) Hold(register string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.held[register] = true
	}
}

// Advance records p as register's feed position and queues a write of the
// register's newest cart carrying it (the queued cart, or else the newest
// one saved or loaded). The returned channel reports that write's outcome,
// as Save's does. Call it after Save of the cart the entry produced (or
// after an entry that changed nothing): every write taken after Advance
// then holds that cart or a newer one with p, never p with an older cart.
// A register whose cart the store has never seen has nothing to write: p
// is kept for its first write and the channel reports nil at once.
func (s *Store) Advance(register string, p Position) <-chan error {
	ch := make(chan error, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		ch <- ErrClosed
		close(ch)
		return ch
	}
	s.pos[register] = p
	delete(s.held, register)
	if _, ok := s.pending[register]; !ok {
		e, known := s.newest[register]
		if !known {
			ch <- nil
			close(ch)
			return ch
		}
		s.pending[register] = e
	}
	s.waiters[register] = append(s.waiters[register], ch)
	s.gauge()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return ch
}

// Save queues c, the register's cart at stream position seq, to be written,
// and returns a channel that receives the outcome (nil once c or a newer cart
// of the register is on disk and fsynced, or the error of the first attempt)
// and is then closed. A cart with a seq below the one already queued is
// older: it is not queued, and its channel reports the queued cart's
// outcome. Save never blocks on the disk. After Close the channel reports
// ErrClosed at once.
func (s *Store) Save(c cart.Cart, seq uint64) <-chan error {
	ch := make(chan error, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		ch <- ErrClosed
		close(ch)
		return ch
	}
	if old, ok := s.pending[c.Register]; !ok || seq >= old.seq {
		e := entry{c: c.Clone(), seq: seq}
		s.pending[c.Register] = e
		if seq >= s.newest[c.Register].seq {
			s.newest[c.Register] = e
		}
	}
	s.waiters[c.Register] = append(s.waiters[c.Register], ch)
	s.gauge()
	// Under mu: Close closes wake only after setting closed under mu, so
	// this send never hits a closed channel. It does not block.
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return ch
}

// Health returns nil while every write succeeds, otherwise an error naming
// the registers whose newest cart is not on disk and why.
func (s *Store) Health() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for reg, err := range s.failing {
		errs = append(errs, fmt.Errorf("register %s: %w", reg, err))
	}
	return errors.Join(errs...)
}

// Close writes pending carts once more (without retrying) and stops the
// writer. Safe to call twice.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closed = true
	close(s.wake)
	s.mu.Unlock()
	<-s.done
	return s.Health()
}

func (s *Store) loop() {
	defer close(s.done)
	delay := time.Duration(0)
	var retry <-chan time.Time
	var timer *time.Timer
	for {
		open, saved := true, false
		select {
		case _, open = <-s.wake:
			saved = open
		case <-retry:
		}
		if timer != nil {
			timer.Stop()
			timer, retry = nil, nil
		}
		if saved {
			open = s.settle()
		}
		failed := s.flush()
		if !open {
			return
		}
		if !failed {
			delay = 0
			continue
		}
		delay = min(max(2*delay, RetryMin), RetryMax)
		timer = time.NewTimer(delay)
		retry = timer.C
	}
}

// settle waits CommitDelay before a write, or less if Close comes first
// (it then reports false). Saves meanwhile only queue their carts, which
// the write that follows covers.
func (s *Store) settle() (open bool) {
	if s.commitDelay <= 0 {
		return true
	}
	t := time.NewTimer(s.commitDelay)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return true
		case _, open := <-s.wake:
			if !open {
				return false
			}
		}
	}
}

// flush writes every pending cart once and reports whether a write failed.
// A failed cart stays pending unless a newer one took its place meanwhile.
func (s *Store) flush() (failed bool) {
	s.mu.Lock()
	batch, waiters := s.pending, s.waiters
	s.pending, s.waiters = map[string]entry{}, map[string][]chan<- error{}
	// A held register's cart waits for its entry's position (Hold), but
	// not past Close: the feed has stopped by then, and a cart on disk
	// with an older position beats no cart.
	if !s.closed {
		for reg := range s.held {
			if e, ok := batch[reg]; ok {
				s.pending[reg], s.waiters[reg] = e, waiters[reg]
				delete(batch, reg)
				delete(waiters, reg)
			}
		}
	}
	// Positions are taken with the batch, never later: a position advanced
	// after this point may belong to a cart newer than the batch's.
	pos := make(map[string]Position, len(batch))
	for reg := range batch {
		if p, ok := s.pos[reg]; ok {
			pos[reg] = p
		}
	}
	s.mu.Unlock()
	for reg, e := range batch {
		var p *Position
		if v, ok := pos[reg]; ok {
			p = &v
		}
		err := s.write(reg, e.c, p)
		s.mu.Lock()
		if err != nil {
			failed = true
			if _, newer := s.pending[reg]; !newer {
				s.pending[reg] = e
			}
			if s.failing[reg] == nil {
				s.log.Error("persist cart failed; retrying", "register", reg, "err", err)
			}
			s.failing[reg] = err
		} else if s.failing[reg] != nil {
			delete(s.failing, reg)
			s.log.Info("persist cart recovered", "register", reg)
		}
		s.gauge()
		s.mu.Unlock()
		if s.metrics != nil {
			s.metrics.Saves.WithLabelValues(outcome(err)).Inc()
		}
		for _, ch := range waiters[reg] {
			ch <- err
			close(ch)
		}
	}
	return failed
}

func outcome(err error) string {
	if err != nil {
		return "failed"
	}
	return "ok"
}

// gauge updates the pending-saves metric; mu is held.
func (s *Store) gauge() {
	if s.metrics != nil {
		s.metrics.SavesPending.Set(float64(len(s.pending)))
	}
}

func (s *Store) write(register string, c cart.Cart, p *Position) error {
	data := encodeRecord(&c, p)
	return s.writeFile(filepath.Join(s.dir, register+".json"), data, 0o640)
}

// encodeRecord returns the bytes json.Marshal writes for record{*c, p}
// (TestEncodeRecordMatchesMarshal), without its reflection: the store
// encodes the cart of every write, at 50 changes/s on the core the
// displays' writers need meanwhile.
func encodeRecord(c *cart.Cart, p *Position) []byte {
	b := c.AppendJSON(make([]byte, 0, c.SizeHint()+64))
	if p == nil {
		return b
	}
	b = append(b[:len(b)-1], `,"feed":{`...) // the record's field follows the cart's
	b = jsonw.AppendStringField(b, "stream", p.Stream)
	b = jsonw.AppendStringField(b, "last_id", p.LastID)
	return append(b, '}', '}')
}
