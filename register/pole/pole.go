package pole

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/stream"
)

// Source is the register stream a pole follows: *stream.Stream.
type Source interface {
	Subscribe(resume *protocol.Position, sub *stream.Sub) ([]*stream.Frame, error)
	Unsubscribe(sub *stream.Sub)
	Cart() cart.Cart
	// Restored reports whether the cart is the one persisted by the
	// agent's last run, not yet confirmed by the POS.
	Restored() bool
}

// Config is one pole display.
type Config struct {
	// Name identifies the pole in logs.
	Name string
	// Port says where the display is and how it talks.
	Port PortConfig
	// CommandSet is "epson" (default) or "cd5220".
	CommandSet string
	// CodePage is the display's character table: "cp437" (default),
	// "cp858" or "cp1252".
	CodePage string
	// Locale formats money and picks the default templates ("en-US").
	Locale string
	// Brightness is 1-4 (25 % steps); 0 is full.
	Brightness int
	// Templates override the locale's default rows by event name.
	Templates map[string][]string
	// Marquee scrolls a welcome text wider than the display by one
	// character every Marquee (0: no scrolling; 100ms to 10s).
	Marquee time.Duration
}

// Write is one update that reached the display.
type Write struct {
	Screen Screen
	Event  Event
	Bytes  int       // bytes written, commands included
	Cart   cart.Cart // the cart the screen shows
	Init   bool      // the display was (re)initialized first
	Done   time.Time // when the port's Write returned
}

// Options are the pole's collaborators.
type Options struct {
	Logger *slog.Logger
	// Open opens the port (default OpenSerial of Config.Port); tests open
	// ptys or in-memory ports.
	Open func() (Port, string, error)
	// RetryMin and RetryMax bound the backoff between attempts to open
	// the port (default 500ms and 15s): a display that is unplugged is
	// tried again quickly at first, then every RetryMax.
	RetryMin, RetryMax time.Duration
	// Wrote, when set, is called after every update written (tests and
	// benchmarks wait on it). It runs on the pole's goroutine: keep it short.
	Wrote func(Write)
}

// Pole drives one pole display from one register's stream.
type Pole struct {
	cfg  Config
	cmds CommandSet
	r    *Renderer
	log  *slog.Logger
	opts Options

	mu     sync.Mutex
	status Status
}

// Status is what store IT needs to know about a pole (the agent's
// /healthz shows it).
type Status struct {
	Name      string    `json:"name"`
	Port      string    `json:"port,omitempty"` // the device path last opened
	Connected bool      `json:"connected"`
	Writes    uint64    `json:"writes"`
	LastWrite time.Time `json:"last_write,omitzero"`
	Error     string    `json:"error,omitempty"` // why it is not connected
}

// Status returns the pole's current status. It is safe to call from any
// goroutine.
func (p *Pole) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

func (p *Pole) setStatus(f func(*Status)) {
	p.mu.Lock()
	f(&p.status)
	p.mu.Unlock()
}

// New checks cfg and returns its pole.
func New(cfg Config, opts Options) (*Pole, error) {
	cmds, err := LookupCommandSet(cfg.CommandSet)
	if err != nil {
		return nil, err
	}
	cp, err := LookupCodePage(cfg.CodePage)
	if err != nil {
		return nil, err
	}
	if cfg.Locale == "" {
		cfg.Locale = "en-US"
	}
	tmpl, err := Merge(cfg.Locale, cfg.Templates)
	if err != nil {
		return nil, err
	}
	if cfg.Marquee != 0 && (cfg.Marquee < 100*time.Millisecond || cfg.Marquee > 10*time.Second) {
		return nil, fmt.Errorf("%w: marquee %v (want 100ms to 10s, or 0 for none)", ErrConfig, cfg.Marquee)
	}
	if cfg.Brightness < 0 || cfg.Brightness > 4 {
		return nil, fmt.Errorf("%w: brightness %d (want 1-4, or 0 for full)", ErrConfig, cfg.Brightness)
	}
	if opts.Open == nil {
		if err := cfg.Port.Check(); err != nil {
			return nil, err
		}
		opts.Open = func() (Port, string, error) { return OpenSerial(cfg.Port) }
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = 500 * time.Millisecond
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(15*time.Second, opts.RetryMin)
	}
	return &Pole{cfg: cfg, cmds: cmds, r: NewRenderer(cp, cfg.Locale, tmpl), log: opts.Logger, opts: opts, status: Status{Name: cfg.Name}}, nil
}

// Renderer returns the pole's renderer (pole-test draws with it).
func (p *Pole) Renderer() *Renderer { return p.r }

// Encode returns the bytes that bring a display from shown (nil: unknown,
// after init) to s: only the rows that differ.
func (p *Pole) Encode(shown *Screen, s Screen) []byte {
	var out []byte
	for i := range s {
		if shown == nil || shown[i] != s[i] {
			out = append(out, p.cmds.Row(i+1, s[i][:])...)
		}
	}
	return out
}

// Init returns the bytes that reset the display to a blank, known state.
func (p *Pole) Init() []byte { return p.cmds.Init(p.r.CodePage(), p.cfg.Brightness) }

// conn is one opened port and the reader that notices its loss.
type conn struct {
	port   Port
	path   string
	opened time.Time
	gone   chan struct{} // closed when Read fails: unplugged or closed
	wg     sync.WaitGroup
}

func (c *conn) close() {
	_ = c.port.Close()
	c.wg.Wait()
}

// Run follows src until ctx ends. It reads the current cart each time it
// is ready to write, so however slow the port, the stream's publisher
// never waits and changes made meanwhile coalesce into the latest cart.
// An unplugged display is reopened with backoff and repainted. When ctx
// ends, the display is told the register is offline, so that no figure
// stays on the glass after the agent stops. Run returns nil then, or the
// error that kept it from subscribing. Returning takes at most the write
// in flight and the offline write: at 9600 baud, with no flow control (as
// OpenSerial opens ports), about 0.1 s, well inside the agent's shutdown
// budget; a port that is gone fails its write at once.
func (p *Pole) Run(ctx context.Context, src Source) error {
	sub := stream.NewSub(4)
	if _, err := src.Subscribe(nil, sub); err != nil {
		return fmt.Errorf("pole %s: subscribe: %w", p.cfg.Name, err)
	}
	defer src.Unsubscribe(sub)

	var (
		c       *conn
		shown   *Screen // what the display shows now; nil after init
		prev    *cart.Cart
		wasRest bool // prev was shown as restored
		last    Screen
		lastEv  Event
		wait    time.Duration // before the next attempt to open the port
		failing bool
		// The welcome marquee: its characters, and how far it has moved.
		loop  [][]byte
		off   int
		slide <-chan time.Time
	)
	if p.cfg.Marquee > 0 {
		loop = p.r.marqueeLoop()
	}
	// drop closes a lost connection. One that lived long was healthy: the
	// next attempt is at once (a replugged display shows up quickly);
	// otherwise the wait doubles, so that a port that opens but fails at
	// once is not reopened in a tight loop.
	drop := func(why string, err error) {
		p.log.Warn("pole display "+why+"; reopening", "pole", p.cfg.Name, "port", c.path, "err", err)
		p.setStatus(func(s *Status) {
			s.Connected, s.Error = false, why
			if err != nil {
				s.Error += ": " + err.Error()
			}
		})
		c.close()
		if time.Since(c.opened) >= p.opts.RetryMax {
			wait = 0
		}
		c, failing = nil, true
	}
	for {
		if c == nil {
			if wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return nil
				case <-t.C:
				}
			}
			var err error
			c, err = p.open()
			wait = min(max(2*wait, p.opts.RetryMin), p.opts.RetryMax)
			if err != nil {
				if !failing {
					p.log.Warn("pole display not available; retrying", "pole", p.cfg.Name, "err", err)
					failing = true
				}
				p.setStatus(func(s *Status) { s.Connected, s.Error = false, err.Error() })
				continue
			}
			p.setStatus(func(s *Status) { s.Port, s.Connected, s.Error = c.path, true, "" })
			if failing {
				p.log.Info("pole display back", "pole", p.cfg.Name, "port", c.path)
			}
			failing, shown = false, nil
		}
		sub.Drain()
		sub.TakeOverflow()
		restored := src.Restored()
		cur := src.Cart()
		switch {
		case restored:
			// No figure until the POS confirms the cart: a restored cart
			// may be one the register no longer has.
			last, lastEv = p.r.Fixed(EventRestored), EventRestored
			prev, wasRest = nil, true
		case prev == nil || wasRest || !cart.Equal(*prev, cur):
			last, lastEv = p.r.Render(prev, &cur)
			prev, wasRest, off = &cur, false, 0
		}
		var out []byte
		if shown == nil {
			out = p.Init()
		}
		out = append(out, p.Encode(shown, last)...)
		if len(out) > 0 {
			if _, err := c.port.Write(out); err != nil {
				drop("write failed", err)
				continue
			}
			now := time.Now()
			p.setStatus(func(s *Status) { s.Writes, s.LastWrite = s.Writes+1, now })
			if p.opts.Wrote != nil {
				p.opts.Wrote(Write{Screen: last, Event: lastEv, Bytes: len(out), Cart: cur, Init: shown == nil, Done: now})
			}
			s := last
			shown = &s
		}
		slide = nil
		if loop != nil && lastEv == EventWelcome {
			slide = time.After(p.cfg.Marquee)
		}
		select {
		case <-ctx.Done():
			off := p.r.Offline()
			out := p.Encode(shown, off)
			if _, err := c.port.Write(out); err == nil && p.opts.Wrote != nil {
				p.opts.Wrote(Write{Screen: off, Event: EventOffline, Bytes: len(out), Done: time.Now()})
			}
			c.close()
			p.setStatus(func(s *Status) { s.Connected, s.Error = false, "stopped" })
			return nil
		case f := <-sub.C:
			sub.Taken(f)
		case <-slide:
			off = (off + 1) % len(loop)
			last[0] = marqueeRow(loop, off)
		case <-c.gone:
			drop("gone", nil)
		}
	}
}

// open opens the port and starts the reader that notices unplugging.
func (p *Pole) open() (*conn, error) {
	port, path, err := p.opts.Open()
	if err != nil {
		return nil, err
	}
	c := &conn{port: port, path: path, opened: time.Now(), gone: make(chan struct{})}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(c.gone)
		buf := make([]byte, 64)
		for {
			// Displays send nothing worth reading; a read error is the
			// port going away (or our own Close).
			if _, err := port.Read(buf); err != nil {
				return
			}
		}
	}()
	return c, nil
}
