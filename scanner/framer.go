package scanner

import (
	"bytes"
	"time"
)

// framer splits a serial byte stream into scan frames. It is fed whatever
// each Read returned, with the time of that Read, and never blocks.
type framer struct {
	term    string
	idleGap time.Duration
	stale   time.Duration
	maxLen  int

	buf      []byte
	last     time.Time // when the last byte of buf arrived
	overflow bool      // current frame exceeded maxLen; drop it at its end
	// onDrop is told about every frame thrown away, with a Discard* reason
	// and the bytes it had. May be nil.
	onDrop func(reason string, n int)
}

func newFramer(s SerialConfig) *framer {
	return &framer{
		term:    s.Terminator,
		idleGap: time.Duration(s.IdleGap),
		stale:   time.Duration(s.StaleTimeout),
		maxLen:  s.MaxLength,
	}
}

// partial reports whether a frame has started but not ended.
func (f *framer) partial() bool { return len(f.buf) > 0 || f.overflow }

// reset drops a partial frame, e.g. when the port fails mid-scan, so the
// next scan does not start with the leftovers of this one.
func (f *framer) reset(reason string) {
	if f.partial() {
		f.drop(reason)
	}
	f.buf = f.buf[:0]
	f.overflow = false
}

// feed consumes p, received at now, calling out for every complete frame.
// The slice passed to out is only valid during the call.
func (f *framer) feed(p []byte, now time.Time, out func(frame []byte, at time.Time)) {
	if len(p) == 0 {
		return
	}
	if f.partial() {
		gap := now.Sub(f.last)
		if f.term == TerminatorIdle && gap >= f.idleGap {
			f.flush(now, out)
		} else if f.term != TerminatorIdle && gap > f.stale {
			f.reset(DiscardStale)
		}
	}
	f.last = now
	if f.term == TerminatorIdle {
		for _, c := range p {
			f.add(c)
		}
		return
	}
	for len(p) > 0 {
		i := f.indexTerm(p)
		if i < 0 {
			for _, c := range p {
				f.add(c)
			}
			return
		}
		for _, c := range p[:i] {
			f.add(c)
		}
		c := p[i]
		p = p[i+1:]
		switch f.term {
		case TerminatorCRLF:
			if c == '\n' && len(f.buf) > 0 && f.buf[len(f.buf)-1] == '\r' {
				f.buf = f.buf[:len(f.buf)-1]
				f.flush(now, out)
			} else {
				f.add(c)
			}
		case TerminatorCR, TerminatorLF:
			if !f.partial() && (c == '\r' || c == '\n') && c != f.termByte() {
				continue // the other half of a CRLF between frames
			}
			if c == f.termByte() {
				f.flush(now, out)
			} else {
				f.add(c)
			}
		default: // TerminatorAny: CR or LF ends a frame; empty frames vanish
			f.flush(now, out)
		}
	}
}

func (f *framer) drop(reason string) {
	if f.onDrop != nil {
		n := len(f.buf)
		if f.overflow {
			n = f.maxLen
		}
		f.onDrop(reason, n)
	}
}

func (f *framer) termByte() byte {
	if f.term == TerminatorLF {
		return '\n'
	}
	return '\r'
}

func (f *framer) indexTerm(p []byte) int {
	switch f.term {
	case TerminatorCRLF:
		return bytes.IndexByte(p, '\n')
	default:
		return bytes.IndexAny(p, "\r\n")
	}
}

func (f *framer) add(c byte) {
	if f.overflow {
		return
	}
	if len(f.buf) >= f.maxLen {
		f.overflow = true
		f.buf = f.buf[:0]
		return
	}
	f.buf = append(f.buf, c)
}

// flush ends the current frame.
func (f *framer) flush(now time.Time, out func([]byte, time.Time)) {
	if f.overflow {
		f.drop(DiscardOverflow)
		f.overflow = false
		f.buf = f.buf[:0]
		return
	}
	if len(f.buf) == 0 {
		return
	}
	out(f.buf, now)
	f.buf = f.buf[:0]
}

// idle is called when a read found no data at now. In idle-gap mode it
// ends a frame that has been quiet for idleGap.
func (f *framer) idle(now time.Time, out func([]byte, time.Time)) {
	if f.term == TerminatorIdle && f.partial() && now.Sub(f.last) >= f.idleGap {
		f.flush(now, out)
	}
}

// stripAffixes removes the configured prefix and suffix when present.
func stripAffixes(data, prefix, suffix string) string {
	if prefix != "" && len(data) >= len(prefix) && data[:len(prefix)] == prefix {
		data = data[len(prefix):]
	}
	if suffix != "" && len(data) >= len(suffix) && data[len(data)-len(suffix):] == suffix {
		data = data[:len(data)-len(suffix)]
	}
	return data
}
