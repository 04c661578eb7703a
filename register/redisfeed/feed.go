package redisfeed

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/store"
)

// Applier applies a decoded message to a register, the way every other
// cart source does (register/ingest implements it). ApplyQueued returns
// once the change is live and its cart queued for the disk, without
// waiting for the write.
type Applier interface {
	ApplyQueued(register string, msg protocol.PosMessage) (uint64, <-chan error, *protocol.Error)
}

// Positions keeps each register's position in the durable write of its
// cart (register/store implements it): Hold is called before an entry is
// applied, so that no write takes its cart before its position; Advance
// after, and its channel reports the write holding both.
type Positions interface {
	Position(register string) (store.Position, bool)
	Hold(register string)
	Advance(register string, p store.Position) <-chan error
}

// Options wire the feed to the agent.
type Options struct {
	Apply Applier
	// Positions is the cart store: where the entry ids applied are kept.
	Positions Positions
	// Presence describes the agent's registers for its presence key.
	Presence func() []RegisterPresence
	// StateDir holds the legacy positions file (redis/positions.json),
	// read for registers whose cart file holds no position yet.
	StateDir string
	AgentID  string
	Version  string
	Epoch    string
	// Limit is the largest message accepted (the POS side's soft limit).
	Limit    int64
	Registry prometheus.Registerer
	Logger   *slog.Logger
}

// Link states reported by Status.
const (
	StateConnecting = "connecting" // not connected yet since the start
	StateUp         = "up"         // reading the pos streams
	StateDegraded   = "degraded"   // failing; Reason and Error say why
)

// Reasons for a degraded link: what an operator has to fix.
const (
	ReasonAuth        = "auth"        // wrong user or password
	ReasonACL         = "acl"         // the ACL user lacks a command or a key
	ReasonTLS         = "tls"         // certificate not trusted, or TLS failed
	ReasonUnreachable = "unreachable" // cannot connect, or the link broke
	ReasonError       = "error"       // anything else
)

// Status is the link's state, for /healthz.
type Status struct {
	State    string    `json:"state"`
	Reason   string    `json:"reason,omitempty"`
	Error    string    `json:"error,omitempty"`
	Since    time.Time `json:"since"`
	Failures int       `json:"failures"`
	Endpoint string    `json:"endpoint"`
	// Presence is when the presence key was last written.
	Presence time.Time `json:"presence,omitzero"`
	// Subscribed says the PUBLISH compatibility listens (publish = true).
	Subscribed bool `json:"subscribed,omitempty"`
	// Positions are the last entry ids applied, by register.
	Positions map[string]string `json:"positions"`
}

type following struct {
	name, key, results, scans, channel string

	// mu guards lastID, the last entry applied.
	mu     sync.Mutex
	lastID string

	// readID is the reader's cursor: the last entry handed to queue
	// (reader goroutine only). queue feeds the register's worker, which
	// applies in order; workers of different registers apply at the same
	// time, so one register's fsync does not hold up the others'.
	readID string
	queue  chan redis.XMessage
	// dec decodes the register's entries (its worker only): a backend,
	// like a POS page, sends the whole cart on every change.
	dec protocol.POSDecoder
}

// Feed is the agent's link to Redis.
type Feed struct {
	cfg    Config
	opts   Options
	log    *slog.Logger
	client redis.UniversalClient
	ro     *redis.Options
	order  []*following
	byName map[string]*following
	byKey  map[string]*following
	m      *feedMetrics

	mu      sync.Mutex
	status  Status
	changed chan struct{} // closed and replaced on every status change
	pending []pendingResult
	// resultsWake wakes resultsLoop.
	resultsWake chan struct{}

	scans *scanQueue
}

type pendingResult struct {
	key string
	res Result
	// written reports the write of the entry's cart and position: the
	// result is sent only after it (docs/protocol.md, "Durability").
	written <-chan error
}

// maxPendingResults bounds the results kept while the link is down; older
// ones are dropped (the backend reads the newest cart's result, or the
// presence key's seq, to know where the register is).
const maxPendingResults = 10000

// New builds the feed for cfg; it connects in Run.
func New(cfg Config, opts Options) (*Feed, error) {
	cfg.defaults()
	ro, err := cfg.options()
	if err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Apply == nil || opts.Positions == nil {
		return nil, errors.New("redis feed: Apply and Positions are required")
	}
	saved := initialPositions(opts.StateDir, cfg, opts.Positions, opts.Logger)
	if opts.Limit <= 0 {
		opts.Limit = 2 << 20
	}
	f := &Feed{
		cfg: cfg, opts: opts, log: opts.Logger, client: cfg.newClient(ro), ro: ro,
		byName: map[string]*following{}, byKey: map[string]*following{},
		m: newMetrics(opts.Registry), changed: make(chan struct{}), resultsWake: make(chan struct{}, 1),
	}
	f.status = Status{State: StateConnecting, Since: time.Now(), Endpoint: endpoint(cfg.URL), Positions: map[string]string{}}
	for _, r := range cfg.Registers {
		fl := &following{
			name: r, key: PosKey(cfg.Prefix, cfg.Store, r), results: ResultsKey(cfg.Prefix, cfg.Store, r),
			scans: ScansKey(cfg.Prefix, cfg.Store, r), channel: PubChannel(cfg.Prefix, cfg.Store, r),
		}
		fl.queue = make(chan redis.XMessage, 2*readBatch)
		if s, ok := saved[r]; ok {
			fl.lastID, fl.readID = s.LastID, s.LastID
		}
		f.order = append(f.order, fl)
		f.byName[r] = fl
		f.byKey[fl.key] = fl
	}
	f.scans = newScanQueue(f)
	return f, nil
}

// endpoint is the URL without anything secret, for logs and /healthz.
func endpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// Follows reports whether register is fed from Redis.
func (f *Feed) Follows(register string) bool {
	_, ok := f.byName[register]
	return ok
}

// ScansToRedis reports whether register's scans go to Redis.
func (f *Feed) ScansToRedis(register string) bool { return f.cfg.Scans && f.Follows(register) }

// Status returns the link's state.
func (f *Feed) Status() Status {
	f.mu.Lock()
	s := f.status
	f.mu.Unlock()
	s.Positions = map[string]string{}
	for _, r := range f.order {
		r.mu.Lock()
		s.Positions[r.name] = r.lastID
		r.mu.Unlock()
	}
	return s
}

// Watch returns the status and a channel closed at its next change.
func (f *Feed) Watch() (Status, <-chan struct{}) {
	f.mu.Lock()
	ch := f.changed
	f.mu.Unlock()
	return f.Status(), ch
}

func (f *Feed) setStatusLocked(s Status) {
	f.status = s
	close(f.changed)
	f.changed = make(chan struct{})
}

// update changes the status with fn and wakes watchers.
func (f *Feed) update(fn func(*Status)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.status
	fn(&s)
	f.setStatusLocked(s)
}

func (f *Feed) linkUp() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status.State == StateUp {
		return
	}
	s := f.status
	s.State, s.Reason, s.Error, s.Since = StateUp, "", "", time.Now()
	f.setStatusLocked(s)
	f.m.up.Set(1)
	f.log.Info("redis link up", "endpoint", s.Endpoint)
}

func (f *Feed) linkDown(err error) {
	reason := classify(err)
	f.m.up.Set(0)
	f.m.reconnects.WithLabelValues(reason).Inc()
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.status
	s.Failures++
	if s.State != StateDegraded || s.Reason != reason || s.Error != err.Error() {
		f.log.Warn("redis link degraded", "endpoint", s.Endpoint, "reason", reason, "err", err)
		s.Since = time.Now()
	}
	s.State, s.Reason, s.Error = StateDegraded, reason, err.Error()
	f.setStatusLocked(s)
}

// classify says what an operator has to fix. Redis reports ACL and
// authentication failures with the error codes WRONGPASS, NOAUTH and
// NOPERM (the first word of its error reply).
func classify(err error) string {
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		alert     tls.AlertError
		recHeader tls.RecordHeaderError
		netErr    net.Error
		opErr     *net.OpError
	)
	switch {
	case redis.HasErrorPrefix(err, "WRONGPASS"), redis.HasErrorPrefix(err, "NOAUTH"):
		return ReasonAuth
	case redis.HasErrorPrefix(err, "NOPERM"):
		return ReasonACL
	case errors.As(err, &verify), errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid),
		errors.As(err, &alert), errors.As(err, &recHeader):
		return ReasonTLS
	case errors.As(err, &opErr), errors.As(err, &netErr), errors.Is(err, net.ErrClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ReasonUnreachable
	}
	return ReasonError
}

// Run keeps the link until ctx ends: it reads and applies the pos streams,
// writes results, scans and the presence key, and reconnects with jittered
// backoff. It never gives up and never returns before ctx ends; on return
// every goroutine it started has ended. The positions are the cart
// store's: its Close writes what is queued.
func (f *Feed) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	run := func(fn func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); fn(ctx) }()
	}
	run(f.readLoop)
	run(f.resultsLoop)
	for _, r := range f.order {
		run(func(ctx context.Context) { f.work(ctx, r) })
	}
	run(f.presenceLoop)
	if f.cfg.Scans {
		run(f.scans.loop)
	}
	if f.cfg.Publish {
		run(f.publishLoop)
	}
	<-ctx.Done()
	f.deletePresence()
	// Closing the client fails a blocked XREAD at once.
	_ = f.client.Close()
	wg.Wait()
	f.finalFlush()
	return ctx.Err()
}

// finalFlush writes the results still queued at a clean stop, on a client
// of its own (the feed's is closed), within a second.
func (f *Feed) finalFlush() {
	f.mu.Lock()
	n := len(f.pending)
	f.mu.Unlock()
	if n == 0 {
		return
	}
	c := f.cfg.newClient(f.ro)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := f.flushResults(ctx, c); err != nil {
		f.log.Warn("results not written at stop", "results", n, "err", err)
	}
}

// exactOnce returns where to send a command that must not run twice (a
// scan's XADD: a second one would deliver the scan twice). On one node
// that is the feed's client, which never resends. A cluster client
// resends after a network error, so on a cluster the command goes to the
// key's node through that node's own client, which does not; a MOVED or
// ASK it gets back reloads the slots (redirected).
func (f *Feed) exactOnce(ctx context.Context, key string) (redis.Cmdable, error) {
	cc, ok := f.client.(*redis.ClusterClient)
	if !ok {
		return f.client, nil
	}
	return cc.MasterForKey(ctx, key)
}

// redirected reports whether err is a cluster's MOVED or ASK (the command
// was not run) and, if so, has the client reload the slot map.
func (f *Feed) redirected(ctx context.Context, err error) bool {
	cc, ok := f.client.(*redis.ClusterClient)
	if !ok || !(redis.HasErrorPrefix(err, "MOVED") || redis.HasErrorPrefix(err, "ASK")) {
		return false
	}
	cc.ReloadState(ctx)
	return true
}

// errorf wraps err with the command that failed.
func errorf(what string, err error) error { return fmt.Errorf("%s: %w", what, err) }
