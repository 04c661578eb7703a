package scanner

import (
	"slices"
	"strings"
	"time"

	"github.com/holoplot/go-evdev"
	"github.com/posdisplay/posdisplay/register/clock"
)

// Discard reasons reported in [Discard.Reason].
const (
	// DiscardTyping: the keys before an Enter or Tab came at human speed
	// (median gap outside min_key_gap..max_key_gap, or pauses longer than
	// stale_timeout), so they were a person, not a scanner.
	DiscardTyping = "typing"
	// DiscardShort: fewer characters than min_length.
	DiscardShort = "short"
	// DiscardStale: input followed by a pause longer than stale_timeout,
	// then a scan; the input before the pause is dropped, the scan kept.
	// For serial scanners: a partial frame followed by such a pause.
	DiscardStale = "stale"
	// DiscardUnplugged: the device went away mid-scan.
	DiscardUnplugged = "unplugged"
	// DiscardOverflow: a serial frame exceeded max_length.
	DiscardOverflow = "overflow"
)

// keyFrame is what the key decoder hands on: a finished scan, or input it
// threw away (Reason set).
type keyFrame struct {
	Data   string
	At     time.Time
	Timing KeyTiming
	Reason string
	Len    int // characters in a discarded frame
}

// keyDecoder turns evdev key events into text, one scan per Enter or Tab.
type keyDecoder struct {
	lay            *layout
	minGap, maxGap time.Duration
	stale          time.Duration
	minLen         int
	clock          clock.Clock // for events the kernel did not stamp

	shiftL, shiftR, ctrlL, ctrlR, altgr, alt, caps bool

	altCode  int  // digits typed on the keypad while Alt is held
	altDigit bool // at least one such digit

	// The current segment: characters since the last terminator or the
	// last pause longer than stale.
	buf     strings.Builder
	n       int
	presses []time.Time // char key presses of the segment
	// Since the last terminator: characters dropped by pauses, and every
	// press (for the timing of a typing discard).
	dropped int
	all     []time.Time
	last    time.Time // last key press of any kind
}

func newKeyDecoder(h HIDConfig, clk clock.Clock) *keyDecoder {
	lay := layouts[h.Layout]
	if lay == nil {
		lay = layouts[DefaultLayout]
	}
	return &keyDecoder{
		lay:    lay,
		minGap: time.Duration(h.MinKeyGap),
		maxGap: time.Duration(h.MaxKeyGap),
		stale:  time.Duration(h.StaleTimeout),
		minLen: h.MinLength,
		clock:  clk,
	}
}

func eventTime(ev *evdev.InputEvent, clk clock.Clock) time.Time {
	if ev.Time.Sec == 0 && ev.Time.Usec == 0 {
		return clk.Now()
	}
	return time.Unix(int64(ev.Time.Sec), int64(ev.Time.Usec)*1000)
}

// reset forgets a partial scan and the modifier state (a device that comes
// back starts with no keys held), reporting what it drops with reason.
func (d *keyDecoder) reset(reason string, out func(keyFrame)) {
	if n := d.n + d.dropped; n > 0 && out != nil {
		out(keyFrame{Reason: reason, Len: n, At: d.last})
	}
	d.clearAll()
	d.shiftL, d.shiftR, d.ctrlL, d.ctrlR, d.altgr, d.alt = false, false, false, false, false, false
	d.altCode, d.altDigit = 0, false
}

// clearSegment drops the current segment, keeping count of it.
func (d *keyDecoder) clearSegment() {
	d.dropped += d.n
	d.buf.Reset()
	d.n = 0
	d.presses = d.presses[:0]
}

// clearAll forgets everything since the last terminator.
func (d *keyDecoder) clearAll() {
	d.buf.Reset()
	d.n = 0
	d.presses = d.presses[:0]
	d.dropped = 0
	d.all = d.all[:0]
}

// feed handles one event. Only EV_KEY events matter; SYN and MSC are noise.
func (d *keyDecoder) feed(ev *evdev.InputEvent, out func(keyFrame)) {
	if ev.Type != evdev.EV_KEY {
		return
	}
	down := ev.Value != 0 // 1 press, 2 autorepeat
	switch ev.Code {
	case evdev.KEY_LEFTSHIFT:
		d.shiftL = down
		return
	case evdev.KEY_RIGHTSHIFT:
		d.shiftR = down
		return
	case evdev.KEY_LEFTCTRL:
		d.ctrlL = down
		return
	case evdev.KEY_RIGHTCTRL:
		d.ctrlR = down
		return
	case evdev.KEY_RIGHTALT:
		d.altgr = down
		return
	case evdev.KEY_LEFTALT:
		if !down && d.alt && d.altDigit {
			// Alt+keypad code, as scanners send control characters like
			// GS (Alt+029): the code point is the decimal number typed.
			if d.altCode > 0 && d.altCode < 256 {
				d.add(rune(d.altCode), d.last)
			}
		}
		d.alt = down
		d.altCode, d.altDigit = 0, false
		return
	case evdev.KEY_CAPSLOCK:
		if ev.Value == 1 {
			d.caps = !d.caps
		}
		return
	}
	if ev.Value != 1 && ev.Value != 2 {
		return
	}
	t := eventTime(ev, d.clock)
	if d.n > 0 && t.Sub(d.last) > d.stale {
		d.clearSegment()
	}
	d.last = t
	switch ev.Code {
	case evdev.KEY_ENTER, evdev.KEY_KPENTER, evdev.KEY_TAB:
		d.finish(t, out)
		return
	}
	if d.alt {
		if v, ok := keypadDigit(ev.Code); ok {
			d.altCode = d.altCode*10 + v
			if d.altCode > 999 {
				d.altCode = 999
			}
			d.altDigit = true
		}
		return
	}
	c := d.lay.char(ev.Code, d.shiftL || d.shiftR, d.caps, d.altgr)
	if c == 0 {
		return // function keys, arrows: no text
	}
	if d.ctrlL || d.ctrlR {
		// Ctrl+] is GS (FNC1 in GS1 data), Ctrl+letter a control
		// character, as on a terminal.
		switch {
		case c >= '@' && c <= '_':
			c &= 0x1f
		case c >= 'a' && c <= 'z':
			c &= 0x1f
		default:
			return
		}
	}
	d.add(c, t)
}

func (d *keyDecoder) add(c rune, t time.Time) {
	if d.n >= DefaultMaxLength {
		return // bounded: a stuck key cannot grow the buffer forever
	}
	d.buf.WriteRune(c)
	d.n++
	d.presses = append(d.presses, t)
	if len(d.all) < DefaultMaxLength {
		d.all = append(d.all, t)
	}
}

func keypadDigit(code evdev.EvCode) (int, bool) {
	switch code {
	case evdev.KEY_KP0:
		return 0, true
	case evdev.KEY_KP1, evdev.KEY_KP2, evdev.KEY_KP3:
		return int(code-evdev.KEY_KP1) + 1, true
	case evdev.KEY_KP4, evdev.KEY_KP5, evdev.KEY_KP6:
		return int(code-evdev.KEY_KP4) + 4, true
	case evdev.KEY_KP7, evdev.KEY_KP8, evdev.KEY_KP9:
		return int(code-evdev.KEY_KP7) + 7, true
	}
	return 0, false
}

// finish ends a scan at the terminator press t.
func (d *keyDecoder) finish(t time.Time, out func(keyFrame)) {
	defer d.clearAll()
	if d.n == 0 {
		if d.dropped > 0 {
			// Slow keys, then Enter: a person typed.
			out(keyFrame{Reason: DiscardTyping, Len: d.dropped, At: t, Timing: keyTiming(append(d.all, t))})
		}
		return // else a lone Enter
	}
	f := keyFrame{Data: d.buf.String(), At: t, Timing: keyTiming(append(d.presses, t)), Len: d.n}
	switch {
	case f.Timing.MedianGap > d.maxGap || f.Timing.MedianGap < d.minGap:
		f.Reason = DiscardTyping
	case d.n < d.minLen:
		f.Reason = DiscardShort
	}
	if f.Reason != "" {
		// Typed text may be private; it is not passed on.
		out(keyFrame{Reason: f.Reason, Len: d.n + d.dropped, At: t, Timing: keyTiming(append(d.all, t))})
		return
	}
	if d.dropped > 0 {
		out(keyFrame{Reason: DiscardStale, Len: d.dropped, At: d.presses[0]})
	}
	out(f)
}

// keyTiming computes gap statistics over press times.
func keyTiming(ts []time.Time) KeyTiming {
	k := KeyTiming{Keys: len(ts)}
	if len(ts) < 2 {
		return k
	}
	gaps := make([]time.Duration, 0, len(ts)-1)
	for i := 1; i < len(ts); i++ {
		gaps = append(gaps, ts[i].Sub(ts[i-1]))
	}
	k.Total = ts[len(ts)-1].Sub(ts[0])
	slices.Sort(gaps)
	k.MinGap, k.MaxGap = gaps[0], gaps[len(gaps)-1]
	k.MedianGap = gaps[len(gaps)/2]
	return k
}
