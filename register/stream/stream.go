// Package stream owns one register's authoritative cart and its change
// stream: every accepted cart becomes a numbered delta at a stream position
// {epoch, seq}, kept in a bounded history so that reconnecting displays can
// resume, and fanned out to subscribers without ever blocking on one.
//
// It knows nothing of sockets: subscribers are bounded queues of encoded
// frames, drained by whoever owns the connection (the display hub).
package stream

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// Frame is one encoded message for displays. Frames are immutable and shared
// by all subscribers, so a change is encoded once however many displays
// watch it.
type Frame struct {
	Kind string // protocol.TypeSnapshot, TypeDelta or TypeResumed
	Seq  uint64
	Data []byte
	// V1 is the frame for displays that did not announce the "returns"
	// feature, when it differs from Data (see v1view.go); use For.
	V1 []byte
	// At is when the change was accepted, for fan-out latency metrics.
	At time.Time
}

// Sub is one subscriber's bounded queue. The publisher never blocks on it:
// when it is full, the subscriber is marked as overflowed and must take a
// fresh snapshot (see TakeOverflow). A full queue means its reader is busy,
// so the reader finds the mark when it next looks, before its next frame.
type Sub struct {
	// C carries frames in stream order.
	C        chan *Frame
	overflow atomic.Bool
	// queued counts the bytes of the deltas in C; maxBytes (0: no limit)
	// bounds it, so a display whose queue holds a few huge deltas is cut
	// back to a snapshot as one with many small ones is.
	queued   atomic.Int64
	maxBytes int64
}

// LimitBytes bounds the encoded deltas waiting in the queue to n bytes: a
// delta that would go over marks the subscriber overflowed. Call it before
// Subscribe.
func (s *Sub) LimitBytes(n int64) { s.maxBytes = n }

// Taken tells the subscriber that its reader took f from C.
func (s *Sub) Taken(f *Frame) {
	if f.Kind == protocol.TypeDelta {
		s.queued.Add(-int64(len(f.Data)))
	}
}

// NewSub returns a subscriber with a queue of n frames.
func NewSub(n int) *Sub {
	if n < 1 {
		n = 1
	}
	return &Sub{C: make(chan *Frame, n)}
}

// TakeOverflow reports whether the subscriber overflowed since the last call
// and clears the mark. The caller drains C and sends a snapshot.
func (s *Sub) TakeOverflow() bool { return s.overflow.Swap(false) }

// Drain discards every queued frame.
func (s *Sub) Drain() {
	for {
		select {
		case f := <-s.C:
			s.Taken(f)
		default:
			return
		}
	}
}

// Wake queues f, a frame of the reader's own (not part of the stream), if
// there is room: it wakes a reader blocked on C. When C is full the reader is
// not blocked and nothing is queued.
func (s *Sub) Wake(f *Frame) {
	select {
	case s.C <- f:
	default:
	}
}

// push queues f, or marks the subscriber overflowed. It reports whether
// the queue is now at least half full (see Publish).
func (s *Sub) push(f *Frame) (crowded bool) {
	n := int64(len(f.Data))
	if s.maxBytes > 0 && s.queued.Load()+n > s.maxBytes && len(s.C) > 0 {
		s.overflow.Store(true)
		return false
	}
	select {
	case s.C <- f:
		s.queued.Add(n)
		return 2*len(s.C) >= cap(s.C)
	default:
		s.overflow.Store(true)
		return false
	}
}

// Result says what Publish did.
type Result struct {
	Seq     uint64 // stream position after the call
	Changed bool   // false when the cart was identical: no delta was emitted
	Ops     int    // operations in the emitted delta
}

// Stream is one register's cart and change history. It is safe for
// concurrent use.
type Stream struct {
	register string
	epoch    string
	histMax  int

	mu      sync.Mutex
	seq     uint64
	cur     cart.Cart
	hist    []*Frame // the last histMax deltas, oldest first
	histLen int      // bytes of encoded deltas in hist
	subs    map[*Sub]struct{}
	snap    *Frame // cached snapshot of cur at seq
	changed time.Time
	// restored is set while cur is the cart persisted by the last run and
	// no POS has confirmed or replaced it since (docs/protocol.md,
	// "Restored carts").
	restored bool
}

// maxHistoryBytes bounds the encoded deltas kept per register, whatever the
// history length: a delta that replaces a worst-case cart is about 2 MiB, so
// 256 of them (a POS page alternating two such carts for five seconds) held
// 550 MiB per register. 16 MiB keeps hundreds of ordinary deltas; a display
// whose resume point was evicted gets a snapshot, as after any overrun.
const maxHistoryBytes = 16 << 20

// New returns the stream of register starting at seq 0 in epoch with initial
// as its cart (the persisted cart of the last run, or an empty one).
// history bounds the deltas kept for resuming displays.
func New(register, epoch string, initial cart.Cart, history int) *Stream {
	if history < 1 {
		history = 1
	}
	initial.Register = register
	return &Stream{register: register, epoch: epoch, histMax: history, cur: initial.Clone(), subs: map[*Sub]struct{}{}}
}

// MarkRestored marks the current cart as restored from disk: snapshots say
// so until the POS sends a cart (the same one confirms it) or a clear. Call
// it before the stream is shared.
func (s *Stream) MarkRestored() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.restored = true
	s.snap = nil
}

// Restored reports whether the current cart is still the unconfirmed
// restored one.
func (s *Stream) Restored() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restored
}

// Register returns the register id this stream belongs to.
func (s *Stream) Register() string { return s.register }

// Position returns the current stream position.
func (s *Stream) Position() protocol.Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return protocol.Position{Epoch: s.epoch, Seq: s.seq}
}

// Cart returns a copy of the current cart.
func (s *Stream) Cart() cart.Cart {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.Clone()
}

// Current returns a copy of the current cart and its sequence number, read
// together: the newest cart of the two is the one with the higher seq.
func (s *Stream) Current() (cart.Cart, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.Clone(), s.seq
}

// Subscribers returns how many subscribers are attached.
func (s *Stream) Subscribers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

// Publish makes c the current cart. c must already be validated and belong
// to this register. When it differs from the current cart, a delta is
// recorded in the history and queued to every subscriber.
//
// When that left a subscriber's queue at least half full, Publish yields
// the processor before it returns (runtime.Gosched), so that the readers
// of the queues (the displays' writers, woken by the delta) run before the
// publisher decodes its next change. A publisher fed faster than it can
// decode (a burst with the rate limit lifted, or a Redis backlog) would
// otherwise keep the processor while the queues fill, and every display
// would overflow to a snapshot: in a burst of 500 changes to 100 displays
// on 2 cores, 5-42k of the 50k deliveries. Yielding never waits for a
// display: a stalled one stops being counted once it has overflowed.
func (s *Stream) Publish(c cart.Cart, at time.Time) (Result, error) {
	if c.Register != s.register {
		return Result{}, fmt.Errorf("cart for register %q published on stream %q", c.Register, s.register)
	}
	s.mu.Lock()
	res, crowded, err := s.publishLocked(c, at)
	s.mu.Unlock()
	if crowded {
		runtime.Gosched()
	}
	return res, err
}

func (s *Stream) publishLocked(c cart.Cart, at time.Time) (res Result, crowded bool, err error) {
	ops := cart.Diff(s.cur, c)
	if len(ops) == 0 && !s.restored {
		return Result{Seq: s.seq}, false, nil
	}
	// A POS re-sending the restored cart confirms it: that is a change of
	// what displays may show, so it gets a seq and a delta, with no ops
	// (displays drop the restored mark on any delta).
	s.restored = false
	if ops == nil {
		ops = []cart.Op{}
	}
	data := encodeDelta(protocol.Position{Epoch: s.epoch, Seq: s.seq + 1}, ops)
	v1 := s.v1Delta(s.cur, c, s.seq+1)
	s.seq++
	s.cur = c.Clone()
	s.snap = nil
	s.changed = at
	f := &Frame{Kind: protocol.TypeDelta, Seq: s.seq, Data: data, V1: v1, At: at}
	s.hist = append(s.hist, f)
	s.histLen += len(data) + len(v1)
	for len(s.hist) > s.histMax || (s.histLen > maxHistoryBytes && len(s.hist) > 1) {
		s.histLen -= len(s.hist[0].Data) + len(s.hist[0].V1)
		s.hist[0] = nil
		s.hist = s.hist[1:]
	}
	for sub := range s.subs {
		if sub.push(f) {
			crowded = true
		}
	}
	return Result{Seq: s.seq, Changed: true, Ops: len(ops)}, crowded, nil
}

// encodeDelta encodes the delta at p with ops, sized for the common
// single-line change in one allocation.
func encodeDelta(p protocol.Position, ops []cart.Op) []byte {
	return protocol.AppendDelta(make([]byte, 0, 512), p, ops)
}

// Clear ends the sale: the cart becomes empty and idle, keeping its
// currency. It yields as Publish does.
func (s *Stream) Clear(at time.Time) (Result, error) {
	s.mu.Lock()
	res, crowded, err := s.publishLocked(cart.Empty(s.register, s.cur.Currency), at)
	s.mu.Unlock()
	if crowded {
		runtime.Gosched()
	}
	return res, err
}

// Snapshot returns a snapshot frame of the current cart.
func (s *Stream) Snapshot() *Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshotLocked()
}

func (s *Stream) snapshotLocked() *Frame {
	if s.snap != nil {
		return s.snap
	}
	data := protocol.AppendSnapshot(make([]byte, 0, s.cur.SizeHint()+64), protocol.Position{Epoch: s.epoch, Seq: s.seq}, &s.cur, s.restored)
	v1 := s.v1Snapshot()
	at := s.changed
	if at.IsZero() {
		at = time.Now()
	}
	s.snap = &Frame{Kind: protocol.TypeSnapshot, Seq: s.seq, Data: data, V1: v1, At: at}
	return s.snap
}

// Subscribe attaches sub and returns the frames that bring a display from
// resume to the live stream: a "resumed" frame followed by the missing deltas
// when resume is in this epoch and within the history, otherwise one
// snapshot. Frames published after Subscribe returns arrive on sub.C, so
// nothing is missed between catch-up and live.
func (s *Stream) Subscribe(resume *protocol.Position, sub *Sub) ([]*Frame, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Frame
	if resume != nil && resume.Epoch == s.epoch && resume.Seq <= s.seq && s.inHistory(resume.Seq) {
		data, err := json.Marshal(protocol.Resumed{Type: protocol.TypeResumed, Position: *resume})
		if err != nil {
			return nil, fmt.Errorf("encode resumed: %w", err)
		}
		out = append(out, &Frame{Kind: protocol.TypeResumed, Seq: resume.Seq, Data: data, At: time.Now()})
		for _, f := range s.hist {
			if f.Seq > resume.Seq {
				out = append(out, f)
			}
		}
	} else {
		out = append(out, s.snapshotLocked())
	}
	s.subs[sub] = struct{}{}
	return out, nil
}

// inHistory reports whether every delta after seq is still in the history.
func (s *Stream) inHistory(seq uint64) bool {
	if seq == s.seq {
		return true
	}
	return len(s.hist) > 0 && s.hist[0].Seq <= seq+1
}

// Cue queues a transient, unsequenced hint (protocol.Cue) to every
// subscriber. Cues are not kept in the history and carry no cart state; a
// subscriber that is full simply misses it.
func (s *Stream) Cue(cue string) error {
	data, err := json.Marshal(protocol.Cue{Type: protocol.TypeCue, Register: s.register, Cue: cue})
	if err != nil {
		return err
	}
	f := &Frame{Kind: protocol.TypeCue, Data: data, At: time.Now()}
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.subs {
		select {
		case sub.C <- f:
		default:
		}
	}
	return nil
}

// Unsubscribe detaches sub. It is safe to call more than once.
func (s *Stream) Unsubscribe(sub *Sub) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.subs, sub)
}
