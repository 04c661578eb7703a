package scannertest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/holoplot/go-evdev"
)

// DefaultStep is the time between key events in a fixture unless a "step"
// line changes it: the pace of a fast USB scanner.
const DefaultStep = 2 * time.Millisecond

// FixtureEpoch is the time of the first event of a fixture that gives no
// absolute time.
var FixtureEpoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// ParseEvents reads a text event fixture. Each line is
//
//	[time] type code value
//
// with type and code as names (EV_KEY, KEY_A, SYN_REPORT) or numbers
// (decimal or 0x hex). time is optional: "1700000000.000123" is absolute,
// "+15ms" is relative to the previous event; without it an EV_KEY event
// comes one step after the previous event and other events share the
// previous event's time. Directives: "step 120ms" sets the step (120ms is a
// person typing), "wait 2s" adds a pause. '#' starts a comment.
func ParseEvents(r io.Reader) ([]evdev.InputEvent, error) {
	var out []evdev.InputEvent
	step := DefaultStep
	t := FixtureEpoch
	first := true
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "step", "wait":
			if len(f) != 2 {
				return nil, fmt.Errorf("line %d: %s wants one duration", line, f[0])
			}
			d, err := time.ParseDuration(f[1])
			if err != nil || d < 0 {
				return nil, fmt.Errorf("line %d: bad duration %q", line, f[1])
			}
			if f[0] == "step" {
				step = d
			} else {
				t = t.Add(d)
			}
			continue
		}
		explicit := false
		if len(f) == 4 {
			switch {
			case strings.HasPrefix(f[0], "+"):
				d, err := time.ParseDuration(f[0][1:])
				if err != nil || d < 0 {
					return nil, fmt.Errorf("line %d: bad relative time %q", line, f[0])
				}
				t = t.Add(d)
			default:
				sec, err := strconv.ParseFloat(f[0], 64)
				if err != nil || sec < 0 {
					return nil, fmt.Errorf("line %d: bad time %q", line, f[0])
				}
				t = time.Unix(0, int64(sec*1e6)*1000)
			}
			explicit = true
			f = f[1:]
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: want [time] type code value, got %q", line, sc.Text())
		}
		typ, err := parseType(f[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		code, err := parseCode(typ, f[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		v, err := strconv.ParseInt(f[2], 0, 32)
		if err != nil {
			return nil, fmt.Errorf("line %d: bad value %q", line, f[2])
		}
		if !explicit && typ == evdev.EV_KEY && !first {
			t = t.Add(step)
		}
		first = false
		out = append(out, evdev.InputEvent{Time: timeval(t), Type: typ, Code: code, Value: int32(v)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read fixture: %w", err)
	}
	return out, nil
}

func timeval(t time.Time) syscall.Timeval {
	return syscall.NsecToTimeval(t.UnixNano())
}

func parseType(s string) (evdev.EvType, error) {
	if t, ok := evdev.EVFromString[s]; ok {
		return t, nil
	}
	n, err := strconv.ParseUint(s, 0, 16)
	if err != nil {
		return 0, fmt.Errorf("unknown event type %q", s)
	}
	return evdev.EvType(n), nil
}

func parseCode(t evdev.EvType, s string) (evdev.EvCode, error) {
	var names map[string]evdev.EvCode
	switch t {
	case evdev.EV_KEY:
		names = evdev.KEYFromString
	case evdev.EV_SYN:
		names = evdev.SYNFromString
	case evdev.EV_MSC:
		names = evdev.MSCFromString
	}
	if c, ok := names[s]; ok {
		return c, nil
	}
	n, err := strconv.ParseUint(s, 0, 16)
	if err != nil {
		return 0, fmt.Errorf("unknown event code %q for type %d", s, t)
	}
	return evdev.EvCode(n), nil
}

// FormatEvents writes events in the fixture format with absolute times, so
// recordings from real devices can be stored as text.
func FormatEvents(w io.Writer, evs []evdev.InputEvent) error {
	for _, e := range evs {
		_, err := fmt.Fprintf(w, "%d.%06d %s %s %d\n", e.Time.Sec, e.Time.Usec,
			evdev.TypeName(e.Type), evdev.CodeName(e.Type, e.Code), e.Value)
		if err != nil {
			return err
		}
	}
	return nil
}

// ErrUnplugged is what a fake device returns from reads after Unplug, like
// ENODEV from a real one.
var ErrUnplugged = errors.New("scannertest: device unplugged")

// ErrClosed is returned by reads on a closed fake.
var ErrClosed = errors.New("scannertest: closed")

// EventDevice is a fake evdev device: ReadOne returns queued events in
// order, then blocks until more are pushed, it is unplugged or closed. It
// satisfies the ReadOne/Close interface package scanner reads through.
type EventDevice struct {
	mu       sync.Mutex
	cond     *sync.Cond
	queue    []evdev.InputEvent
	unplug   bool
	closed   bool
	closeErr error
}

// NewEventDevice returns a fake device with evs queued.
func NewEventDevice(evs []evdev.InputEvent) *EventDevice {
	d := &EventDevice{queue: append([]evdev.InputEvent(nil), evs...)}
	d.cond = sync.NewCond(&d.mu)
	return d
}

// Push queues more events.
func (d *EventDevice) Push(evs ...evdev.InputEvent) {
	d.mu.Lock()
	d.queue = append(d.queue, evs...)
	d.mu.Unlock()
	d.cond.Broadcast()
}

// Unplug makes ReadOne fail with ErrUnplugged once the queue is empty.
func (d *EventDevice) Unplug() {
	d.mu.Lock()
	d.unplug = true
	d.mu.Unlock()
	d.cond.Broadcast()
}

// Pending reports how many events are still queued.
func (d *EventDevice) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.queue)
}

// ReadOne returns the next event.
func (d *EventDevice) ReadOne() (*evdev.InputEvent, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		if d.closed {
			return nil, ErrClosed
		}
		if len(d.queue) > 0 {
			e := d.queue[0]
			d.queue = d.queue[1:]
			return &e, nil
		}
		if d.unplug {
			return nil, ErrUnplugged
		}
		d.cond.Wait()
	}
}

// Close unblocks ReadOne; it is safe to call more than once.
func (d *EventDevice) Close() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.cond.Broadcast()
	return nil
}

// Closed reports whether Close was called.
func (d *EventDevice) Closed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}
