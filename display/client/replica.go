package client

import (
	"errors"
	"fmt"
	"github.com/posdisplay/posdisplay/register/textclip"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// ErrOutOfStep is wrapped by the errors a replica reports when it can no
// longer follow the stream (gap, epoch change, a delta that does not apply,
// a message that does not decode): the client asks for a snapshot.
var ErrOutOfStep = errors.New("replica out of step")

// maxCueLen bounds a cue name; known cues are short words.
const maxCueLen = 32

// verdict is what a message did to the replica.
type verdict int

const (
	ignored   verdict = iota // nothing visible changed (duplicate, unknown type, welcome)
	changed                  // publish a new View
	wentLive                 // snapshot or resume accepted: the stream is followed again
	outOfStep                // keep the last good cart, mark it stale, ask for a snapshot
)

// replica is a display's copy of one register's cart and its stream
// position. It does no I/O: the session feeds it decoded messages and acts
// on the verdicts, so tests, the fuzzer and the benchmark drive it directly.
// Carts it holds are never modified in place: every View can share them.
type replica struct {
	register string

	cart cart.Cart
	pos  protocol.Position
	has  bool // a snapshot has been taken
	// synced is true while deltas are applied: after a snapshot or an
	// accepted resume on the current connection, until the stream breaks.
	synced bool
	// awaiting is true between a resync request and its snapshot.
	awaiting bool
	// failures counts resync requests since the last delta that applied.
	failures int
	// unresumable is set when resuming from pos would replay trouble (an
	// oversized message); the next snapshot clears it.
	unresumable bool
	// lastErr says why the replica went out of step.
	lastErr error

	// restored is set while the cart is one the agent restored from disk
	// after a restart and no POS has confirmed yet (a snapshot marked
	// restored, until the next delta); restoredAt is when it arrived.
	restored   bool
	restoredAt time.Time

	changed []string
	cue     string
	cueAt   time.Time
}

// newSession resets the per-connection state before a hello.
func (r *replica) newSession() {
	if r.awaiting {
		r.unresumable = true // the snapshot asked for never came
	}
	r.synced, r.awaiting = false, false
}

// distrust makes the next hello ask for a snapshot instead of resuming.
func (r *replica) distrust() { r.unresumable = true }

// resume returns the position to resume from, or nil when a fresh snapshot
// is safer: nothing held yet, or the replica fell out of step (replaying
// the stream from there would fail the same way).
func (r *replica) resume() *protocol.Position {
	if !r.has || r.awaiting || r.unresumable {
		return nil
	}
	p := r.pos
	return &p
}

// handleData decodes one message from the agent and handles it. A message
// that does not decode is a broken stream: out of step.
func (r *replica) handleData(data []byte, now time.Time) (verdict, error) {
	m, err := protocol.DecodeServer(data)
	if err != nil {
		return r.fail(err)
	}
	return r.handle(m, now)
}

// handle applies one decoded message. A non-nil error with a verdict other
// than outOfStep means the connection must end: an *protocol.Error from the
// agent, or a welcome for another register or protocol version.
func (r *replica) handle(m protocol.ServerMessage, now time.Time) (verdict, error) {
	switch {
	case m.Welcome != nil:
		w := m.Welcome
		if w.Register != r.register {
			return ignored, &protocol.Error{Code: protocol.CodeUnknownRegister,
				Message: fmt.Sprintf("agent welcomed register %q, want %q", clip(w.Register), r.register)}
		}
		if w.Protocol != protocol.Version {
			return ignored, &protocol.Error{Code: codeProtocol,
				Message: fmt.Sprintf("agent speaks protocol %d, this display speaks %d", w.Protocol, protocol.Version)}
		}
		return ignored, nil
	case m.Snapshot != nil:
		return r.snapshot(m.Snapshot, now)
	case m.Resumed != nil:
		p := m.Resumed.Position
		if !r.has || p != r.pos {
			return r.fail(fmt.Errorf("resumed at %s, replica at %s", posString(p), posString(r.pos)))
		}
		r.synced = true
		return wentLive, nil
	case m.Delta != nil:
		return r.delta(m.Delta)
	case m.Batch != nil:
		return r.batch(m.Batch)
	case m.Cue != nil:
		c := m.Cue.Cue
		if c == "" || len(c) > maxCueLen || !printable(c) {
			return ignored, nil
		}
		r.cue, r.cueAt = c, now
		return changed, nil
	case m.Error != nil:
		return ignored, m.Error
	}
	return ignored, nil // unknown message type: newer agent
}

func (r *replica) snapshot(s *protocol.Snapshot, now time.Time) (verdict, error) {
	// DecodeServer validated the cart; the register must be ours too.
	if s.Cart.Register != r.register {
		return r.fail(fmt.Errorf("snapshot for register %q, want %q", clip(s.Cart.Register), r.register))
	}
	// The clock of an unconfirmed restored cart runs from the first time
	// this display saw it in this epoch, not from each resync.
	if !s.Restored || !r.restored || r.pos.Epoch != s.Epoch {
		r.restoredAt = now
	}
	r.restored = s.Restored
	old, had := r.cart, r.has
	r.cart, r.pos, r.has = s.Cart, s.Position, true
	r.synced, r.awaiting, r.unresumable = true, false, false
	r.changed = nil
	if had && old.Order == s.Cart.Order {
		r.changed = changedLines(old, s.Cart)
	}
	return wentLive, nil
}

func (r *replica) delta(d *protocol.Delta) (verdict, error) {
	if !r.synced {
		return ignored, nil // stale deltas before the snapshot we asked for
	}
	switch {
	case d.Epoch != r.pos.Epoch:
		return r.fail(fmt.Errorf("delta from epoch %q, replica at %q", clip(d.Epoch), clip(r.pos.Epoch)))
	case d.Seq <= r.pos.Seq:
		return ignored, nil // duplicate or replayed
	case d.Seq != r.pos.Seq+1:
		return r.fail(fmt.Errorf("gap: delta %d after %d", d.Seq, r.pos.Seq))
	}
	next, err := cart.Apply(r.cart, d.Ops)
	if err != nil {
		return r.fail(fmt.Errorf("delta %d: %w", d.Seq, err))
	}
	r.cart, r.pos.Seq = next, d.Seq
	r.restored = false // the POS confirmed or replaced the restored cart
	r.failures = 0
	r.changed = opsChanged(d.Ops, next)
	return changed, nil
}

// batch applies a batch's deltas in order, each as if it had come alone,
// and reports one change for all of them (one redraw). The lines changed
// are those of every delta applied. A delta that does not apply ends the
// batch out of step, keeping what the deltas before it applied: the
// replica is at that delta's seq, which resuming or a resync starts from.
func (r *replica) batch(b *protocol.Batch) (verdict, error) {
	v := ignored
	var lines []string
	for i := range b.Deltas {
		dv, err := r.delta(&b.Deltas[i])
		switch dv {
		case outOfStep:
			return dv, err
		case changed:
			v = changed
			for _, id := range r.changed {
				if !slices.Contains(lines, id) {
					lines = append(lines, id)
				}
			}
		}
	}
	if v == changed {
		r.changed = lines
	}
	return v, nil
}

// fail marks the replica out of step and keeps the last good cart.
func (r *replica) fail(err error) (verdict, error) {
	r.synced, r.awaiting = false, true
	r.failures++
	r.lastErr = err
	return outOfStep, fmt.Errorf("%w: %w", ErrOutOfStep, err)
}

// opsChanged lists the ids of lines added or updated by ops that are in c.
func opsChanged(ops []cart.Op, c cart.Cart) []string {
	var ids []string
	for _, op := range ops {
		if (op.Op != cart.OpAdd && op.Op != cart.OpUpdate) || op.Line == nil {
			continue
		}
		id := op.Line.ID
		dup := false
		for _, s := range ids {
			if s == id {
				dup = true
				break
			}
		}
		if !dup {
			ids = append(ids, id)
		}
	}
	// An add followed by a remove in the same delta leaves nothing to show.
	out := ids[:0]
	for _, id := range ids {
		for i := range c.Lines {
			if c.Lines[i].ID == id {
				out = append(out, id)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// changedLines lists the ids of lines in b that are new or differ from a.
func changedLines(a, b cart.Cart) []string {
	prev := make(map[string]cart.Line, len(a.Lines))
	for _, l := range a.Lines {
		prev[l.ID] = l
	}
	var ids []string
	for _, l := range b.Lines {
		if p, ok := prev[l.ID]; !ok || p != l {
			ids = append(ids, l.ID)
		}
	}
	return ids
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// clip shortens agent-supplied text quoted in errors and logs.
func clip(s string) string { return textclip.Runes(s, 64) }

func posString(p protocol.Position) string {
	return fmt.Sprintf("%s/%d", clip(p.Epoch), p.Seq)
}
