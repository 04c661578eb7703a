package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/clock"
)

// Defaults for Options. The agent sends a message (a heartbeat when idle) at
// least every second; the client pings every second too, so that an older
// agent's pongs keep it alive. A link silent for ReadTimeout is dead: the
// screen marks its cart stale at once (and hides amounts StaleHide later),
// so the customer never looks at a frozen price for long.
const (
	DefaultMinBackoff = 100 * time.Millisecond
	// DefaultMaxBackoff keeps retrying often enough that the screen is
	// live within 3 s of a lost link coming back, after any outage: the
	// worst case is a SYN lost just after the connect's one retransmit
	// (DefaultConnectTimeout − 1 s) plus one full backoff, 2 s. With a 2 s
	// cap, 2.5 s was measured.
	DefaultMaxBackoff      = 1500 * time.Millisecond
	DefaultRejectedBackoff = 30 * time.Second // a revoked token will not fix itself in 5 s
	// DefaultReadTimeout: 0.8 s more than the agent's longest quiet
	// (HeartbeatInterval), and 0.2 s less than 2 s, so that a silently dead
	// link shows stale within 2 s even counting the screen's own latency.
	DefaultReadTimeout  = 1800 * time.Millisecond
	DefaultPingInterval = time.Second
	// DefaultConnectTimeout bounds the TCP connect of an attempt: SYNs to
	// a dead link are retransmitted after 1 s and 3 s, so an attempt
	// started during an outage would otherwise wait seconds after the
	// link returned.
	DefaultConnectTimeout   = 1500 * time.Millisecond
	DefaultWriteTimeout     = 5 * time.Second
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultResyncTimeout    = 5 * time.Second
	// DefaultMaxMessageSize fits the largest valid snapshot (500 lines with
	// every text field at its limit and JSON-escaped, about 1.5 MB) with
	// room to spare, and stops a hostile agent from exhausting memory.
	DefaultMaxMessageSize = 4 << 20
	// maxResyncs is how many snapshots in a row may fail to bring the
	// replica back in step before the client drops the connection and backs
	// off, so a broken agent cannot keep it busy.
	maxResyncs = 3
)

// Options configure a Client. Register and Source are required; every
// other field has a working default.
type Options struct {
	// Register is the id of the register whose cart this display shows.
	Register string
	// Token is the display token sent in hello. It is never logged.
	Token string
	// Source says where the agent is; Static for a configured address.
	Source Source
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// OnView, if set, is called with every new View from a goroutine owned
	// by the client, one call at a time, coalescing Views that arrive while
	// a call is running. It must return promptly and must not wait for Run
	// to return (wrap screen updates in fyne.Do, not fyne.DoAndWait).
	OnView func(View)
	// IsUntrusted reports whether a dial error means the agent's TLS
	// identity does not match the pairing, e.g.
	//	func(err error) bool { return errors.Is(err, tlsid.ErrUntrusted) }
	// Such errors show StatusUntrusted. Nil: never.
	IsUntrusted func(error) bool
	// Clock stamps Views (Since, receive times); nil is the real clock.
	// Waits (backoff, pings, read timeouts) run on package time.
	Clock clock.Clock

	// Transport says how to reach the agent: the display socket (the
	// default), the polling transport, or the socket with a fallback to
	// polling where no WebSocket gets through (poll.go).
	Transport Transport
	// ProbeInterval is how often a TransportAuto client that polls tries a
	// WebSocket again; default DefaultProbeInterval.
	ProbeInterval time.Duration

	MinBackoff       time.Duration // first reconnect delay (jittered); default DefaultMinBackoff
	MaxBackoff       time.Duration // reconnect delay cap; default DefaultMaxBackoff
	RejectedBackoff  time.Duration // delay after rejected or untrusted; default DefaultRejectedBackoff
	ReadTimeout      time.Duration // silence after which the stream is stale; default DefaultReadTimeout
	PingInterval     time.Duration // client pings; default DefaultPingInterval
	WriteTimeout     time.Duration // per write; default DefaultWriteTimeout
	HandshakeTimeout time.Duration // TCP+TLS+WebSocket handshake; default DefaultHandshakeTimeout
	ConnectTimeout   time.Duration // TCP connect alone; default DefaultConnectTimeout
	ResyncTimeout    time.Duration // wait for the snapshot asked for; default DefaultResyncTimeout
	MaxMessageSize   int64         // read limit per message; default DefaultMaxMessageSize
}

// ErrRunning is returned by Run when the client is already running.
var ErrRunning = errors.New("client: already running")

// Client keeps one display's replica of a register's cart in step with the
// agent and publishes Views. Create it with New and start it with Run.
type Client struct {
	opts  Options
	log   *slog.Logger
	views chan View // capacity 1: always the latest View

	running atomic.Bool
	mu      sync.Mutex
	latest  View
}

// New checks opts, fills in defaults and returns a Client that is not yet
// connected.
func New(opts Options) (*Client, error) {
	if !cart.ValidID(opts.Register) {
		return nil, fmt.Errorf("client: register %q: must be 1-%d characters of A-Z a-z 0-9 . _ -", clip(opts.Register), cart.MaxIDLen)
	}
	if opts.Source == nil {
		return nil, errors.New("client: no Source")
	}
	if s, ok := opts.Source.(Static); ok {
		if err := checkURL(s.URL); err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.MinBackoff, DefaultMinBackoff)
	def(&opts.MaxBackoff, DefaultMaxBackoff)
	def(&opts.RejectedBackoff, DefaultRejectedBackoff)
	def(&opts.ReadTimeout, DefaultReadTimeout)
	def(&opts.PingInterval, DefaultPingInterval)
	def(&opts.WriteTimeout, DefaultWriteTimeout)
	def(&opts.HandshakeTimeout, DefaultHandshakeTimeout)
	def(&opts.ConnectTimeout, DefaultConnectTimeout)
	def(&opts.ResyncTimeout, DefaultResyncTimeout)
	def(&opts.ProbeInterval, DefaultProbeInterval)
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = opts.MinBackoff
	}
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = DefaultMaxMessageSize
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{opts: opts, log: log.With("register", opts.Register), views: make(chan View, 1)}
	c.latest = View{Status: StatusSearching, Since: opts.Clock.Now()}
	return c, nil
}

// Views returns a channel that always holds the latest View not yet
// received: a slow reader skips intermediate Views and never slows the
// network. The channel is never closed.
func (c *Client) Views() <-chan View { return c.views }

// View returns the latest View.
func (c *Client) View() View {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.latest
}

// Run connects, follows the stream and reconnects until ctx ends, then
// sends a close frame, waits for its goroutines and returns ctx's error.
// It returns ErrRunning if another Run of c is under way.
func (c *Client) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer c.running.Store(false)

	var wg sync.WaitGroup
	var mail chan View
	if c.opts.OnView != nil {
		mail = make(chan View, 1)
		stop := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					// The last View offered before Run ended is still
					// delivered (select picks among ready cases at
					// random, and a screen must end on Run's last state).
					select {
					case v := <-mail:
						c.opts.OnView(v)
					default:
					}
					return
				case v := <-mail:
					c.opts.OnView(v)
				}
			}
		}()
		defer func() { close(stop); wg.Wait() }()
	}
	r := &runner{c: c, mail: mail, rep: replica{register: c.opts.Register}}
	r.status, r.since = StatusSearching, c.opts.Clock.Now()
	r.publish()
	return r.loop(ctx)
}

// offer puts v in ch, replacing a View nobody has received yet. Only one
// goroutine sends on ch, so after the drain the send cannot block.
func offer(ch chan View, v View) {
	select {
	case <-ch:
	default:
	}
	ch <- v
}
