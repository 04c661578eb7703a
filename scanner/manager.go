package scanner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/holoplot/go-evdev"
	"github.com/posdisplay/posdisplay/register/clock"
)

// Port is what a serial scanner is read through. A go.bug.st/serial Port
// satisfies it; tests use a pty or scannertest.Port. If the port also has
// SetReadTimeout(time.Duration) error, idle-gap framing uses it.
type Port interface {
	Read(p []byte) (int, error)
	Close() error
}

type readTimeouter interface {
	SetReadTimeout(time.Duration) error
}

// EventDevice is what a keyboard-wedge scanner is read through. An
// *evdev.InputDevice satisfies it; tests use scannertest.EventDevice.
// Close must unblock a pending ReadOne.
type EventDevice interface {
	ReadOne() (*evdev.InputEvent, error)
	Close() error
}

// Scanner states reported in [Status.State].
const (
	// StateConnected: the device is open and being read.
	StateConnected = "connected"
	// StateWaiting: the device is absent (not plugged in yet, or
	// unplugged); it is retried with backoff.
	StateWaiting = "waiting"
	// StateError: the device is present but failing (permission denied,
	// grabbed by another program, bad settings); it is retried with backoff.
	StateError = "error"
)

// Default retry backoff bounds.
const (
	DefaultMinBackoff = 250 * time.Millisecond
	// DefaultMaxBackoff keeps a replugged scanner usable within seconds.
	DefaultMaxBackoff = 5 * time.Second
)

// ErrClosed is returned by Run after Close, or when Run is called twice.
var ErrClosed = errors.New("scanner manager closed")

// Status is one scanner's health, for /healthz and the scan-test tool.
type Status struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	State     string    `json:"state"`
	Device    string    `json:"device,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	Scans     uint64    `json:"scans"`
	Discarded uint64    `json:"discarded"`
	Since     time.Time `json:"since"`
}

// Discard reports input that was read but not passed on as a scan. It
// never carries the data: on a shared keyboard it may be a password.
type Discard struct {
	Source string     `json:"source"`
	Reason string     `json:"reason"` // a Discard* constant
	Len    int        `json:"len"`    // characters or bytes thrown away
	At     time.Time  `json:"at"`
	Timing *KeyTiming `json:"timing,omitempty"`
}

// Options tunes a Manager. The zero value works: real devices, defaults.
type Options struct {
	// Logger receives state changes; nil discards.
	Logger *slog.Logger
	// OpenSerial opens a serial scanner and returns the port and the
	// device path it resolved to. Default: resolve path / by-id / USB id
	// and serial.Open.
	OpenSerial func(SerialConfig) (Port, string, error)
	// OpenHID opens (and, per config, grabs) a keyboard-wedge scanner.
	// Default: resolve path / by-id / name and open it with evdev.
	OpenHID func(HIDConfig) (EventDevice, string, error)
	// MinBackoff and MaxBackoff bound the retry delay; defaults
	// DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// OnDiscard, if set, hears about every discarded input. It is called
	// from the scanner goroutines, serialised with emit.
	OnDiscard func(Discard)
	// Clock stamps scans, discards and states, and times the serial
	// framer's gaps; nil is the real clock. Waits (backoff, read timeouts)
	// run on package time.
	Clock clock.Clock
}

// Manager runs a set of scanners. Create it with NewManager, start it with
// Run, stop it with Close or by cancelling Run's context.
type Manager struct {
	opts    Options
	log     *slog.Logger
	runners []*runner
	emitMu  sync.Mutex // serialises emit and OnDiscard

	mu      sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewManager validates cfgs and prepares one runner per scanner. Nothing
// is opened until Run.
func NewManager(cfgs []Config, opts Options) (*Manager, error) {
	if err := ValidateConfigs(cfgs); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.OpenSerial == nil {
		opts.OpenSerial = openSerial
	}
	if opts.OpenHID == nil {
		opts.OpenHID = openHID
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(DefaultMaxBackoff, opts.MinBackoff)
	}
	m := &Manager{opts: opts, log: opts.Logger}
	now := opts.Clock.Now()
	for _, c := range cfgs {
		c = c.WithDefaults()
		m.runners = append(m.runners, &runner{
			m:   m,
			cfg: c,
			log: opts.Logger.With("scanner", c.Name, "kind", c.Kind),
			st:  Status{Name: c.Name, Kind: c.Kind, State: StateWaiting, Since: now},
		})
	}
	return m, nil
}

// Run reads all scanners until ctx is cancelled or Close is called, calling
// emit for every scan. emit is never called concurrently; it should return
// quickly (hand the scan to a queue), since a slow emit delays every
// scanner. Run returns ctx.Err() when ctx ends, nil after Close, and leaves
// no goroutine behind. It may be called once.
func (m *Manager) Run(ctx context.Context, emit func(Scan)) error {
	m.mu.Lock()
	if m.closed || m.started {
		m.mu.Unlock()
		return ErrClosed
	}
	m.started = true
	rctx, cancel := context.WithCancel(ctx)
	m.cancel = cancel
	m.done = make(chan struct{})
	m.mu.Unlock()
	defer close(m.done)
	defer cancel()

	var wg sync.WaitGroup
	for _, r := range m.runners {
		wg.Go(func() { r.run(rctx, emit) })
	}
	wg.Wait()
	<-rctx.Done() // with no scanners configured, Run still blocks

	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil
	}
	return ctx.Err()
}

// Close stops Run, closes every device and waits until Run's goroutines
// have exited. It is safe to call more than once and before Run.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	cancel, done := m.cancel, m.done
	m.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}

// Status returns every scanner's current status, in config order.
func (m *Manager) Status() []Status {
	out := make([]Status, 0, len(m.runners))
	for _, r := range m.runners {
		r.mu.Lock()
		out = append(out, r.st)
		r.mu.Unlock()
	}
	return out
}

func (m *Manager) deliver(emit func(Scan), s Scan) {
	m.emitMu.Lock()
	defer m.emitMu.Unlock()
	emit(s)
}

func (m *Manager) discard(d Discard) {
	if m.opts.OnDiscard == nil {
		return
	}
	m.emitMu.Lock()
	defer m.emitMu.Unlock()
	m.opts.OnDiscard(d)
}

// runner keeps one scanner going.
type runner struct {
	m   *Manager
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	st     Status
	logged bool // a state has been logged at least once
}

// setState records a state and logs only when it changes (or on the very
// first report, so "waiting at startup" is logged once too).
func (r *runner) setState(state, device string, err error) {
	r.mu.Lock()
	changed := r.st.State != state || !r.logged ||
		(state == StateConnected && r.st.Device != device)
	r.logged = true
	r.st.State = state
	if device != "" {
		r.st.Device = device
	}
	if err != nil {
		r.st.LastError = err.Error()
	}
	if changed {
		r.st.Since = r.m.opts.Clock.Now()
	}
	r.mu.Unlock()
	if !changed {
		return
	}
	switch state {
	case StateConnected:
		r.log.Info("scanner connected", "device", device)
	case StateWaiting:
		r.log.Warn("scanner waiting for device", "err", err)
	case StateError:
		r.log.Error("scanner failing, retrying", "err", err)
	}
}

func (r *runner) run(ctx context.Context, emit func(Scan)) {
	backoff := r.m.opts.MinBackoff
	for {
		start := r.m.opts.Clock.Now()
		connected, err := r.session(ctx, emit)
		if ctx.Err() != nil {
			r.log.Debug("scanner stopped")
			return
		}
		if connected {
			// A device that stayed up a while starts over fast; one that
			// fails right after every open keeps backing off, so it
			// cannot flap the log.
			if r.m.opts.Clock.Since(start) >= r.m.opts.MaxBackoff {
				backoff = r.m.opts.MinBackoff
			}
			r.setState(StateWaiting, "", fmt.Errorf("disconnected: %w", err))
		} else if isNotFound(err) {
			r.setState(StateWaiting, "", err)
		} else {
			r.setState(StateError, "", err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, r.m.opts.MaxBackoff)
	}
}

// session opens the device once and reads it until it fails or ctx ends.
func (r *runner) session(ctx context.Context, emit func(Scan)) (connected bool, err error) {
	var (
		closer   func() error
		readLoop func() error
		device   string
	)
	switch r.cfg.Kind {
	case KindSerial:
		p, dev, err := r.m.opts.OpenSerial(r.cfg.Serial)
		if err != nil {
			return false, err
		}
		if r.cfg.Serial.Terminator == TerminatorIdle {
			rt, ok := p.(readTimeouter)
			if !ok {
				p.Close()
				return false, fmt.Errorf("idle_gap framing needs a port with read timeouts")
			}
			if err := rt.SetReadTimeout(time.Duration(r.cfg.Serial.IdleGap)); err != nil {
				p.Close()
				return false, fmt.Errorf("set read timeout: %w", err)
			}
		}
		device, closer = dev, p.Close
		readLoop = func() error { return r.readSerial(p, emit) }
	case KindHID:
		d, dev, err := r.m.opts.OpenHID(r.cfg.HID)
		if err != nil {
			return false, err
		}
		device, closer = dev, d.Close
		readLoop = func() error { return r.readHID(d, emit) }
	default:
		return false, fmt.Errorf("kind %q: %w", r.cfg.Kind, ErrInvalidConfig)
	}
	if ctx.Err() != nil {
		closer()
		return false, ctx.Err()
	}
	closeOnce := sync.OnceValue(closer)
	stop := context.AfterFunc(ctx, func() { closeOnce() })
	r.setState(StateConnected, device, nil)
	err = readLoop()
	stop()
	closeOnce()
	return true, err
}

func (r *runner) scan(data string, at time.Time, timing *KeyTiming) Scan {
	s := Decode(stripAffixes(data, r.cfg.StripPrefix, r.cfg.StripSuffix))
	s.Raw, s.Source, s.At, s.Timing = data, r.cfg.Name, at, timing
	return s
}

func (r *runner) counted(scan bool) {
	r.mu.Lock()
	if scan {
		r.st.Scans++
	} else {
		r.st.Discarded++
	}
	r.mu.Unlock()
}

func (r *runner) readSerial(p Port, emit func(Scan)) error {
	f := newFramer(r.cfg.Serial)
	f.onDrop = func(reason string, n int) {
		r.counted(false)
		r.log.Debug("scanner input discarded", "reason", reason, "len", n)
		r.m.discard(Discard{Source: r.cfg.Name, Reason: reason, Len: n, At: r.m.opts.Clock.Now()})
	}
	out := func(frame []byte, at time.Time) {
		s := r.scan(string(frame), at, nil)
		r.counted(true)
		r.m.deliver(emit, s)
	}
	buf := make([]byte, 512)
	for {
		n, err := p.Read(buf)
		now := r.m.opts.Clock.Now()
		if n > 0 {
			f.feed(buf[:n], now, out)
		} else if err == nil {
			f.idle(now, out)
		}
		if err != nil {
			f.reset(DiscardUnplugged)
			return err
		}
	}
}

func (r *runner) readHID(d EventDevice, emit func(Scan)) error {
	dec := newKeyDecoder(r.cfg.HID, r.m.opts.Clock)
	out := func(k keyFrame) {
		if k.Reason != "" {
			r.counted(false)
			var timing *KeyTiming
			if k.Timing.Keys > 0 {
				timing = &k.Timing
			}
			r.log.Debug("scanner input discarded", "reason", k.Reason, "len", k.Len,
				"median_gap", k.Timing.MedianGap)
			r.m.discard(Discard{Source: r.cfg.Name, Reason: k.Reason, Len: k.Len, At: k.At, Timing: timing})
			return
		}
		timing := k.Timing
		s := r.scan(k.Data, k.At, &timing)
		r.counted(true)
		r.m.deliver(emit, s)
	}
	for {
		ev, err := d.ReadOne()
		if err != nil {
			dec.reset(DiscardUnplugged, out)
			return err
		}
		if ev != nil {
			dec.feed(ev, out)
		}
	}
}
