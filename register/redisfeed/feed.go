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
)

// Applier applies a decoded message to a register, the way every other
// cart source does (register/ingest implements it).
type Applier interface {
	Apply(register string, msg protocol.PosMessage) (uint64, *protocol.Error)
}

// Options wire the feed to the agent.
type Options struct {
	Apply Applier
	// Presence describes the agent's registers for its presence key.
	Presence func() []RegisterPresence
	// StateDir holds the positions (redis/REGISTER.json).
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
}

// Feed is the agent's link to Redis.
type Feed struct {
	cfg    Config
	opts   Options
	log    *slog.Logger
	client *redis.Client
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

	scans     *scanQueue
	positions *committer
}

type pendingResult struct {
	key string
	res Result
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
	saved, err := LoadPositions(opts.StateDir, cfg)
	if err != nil {
		opts.Logger.Warn("ignoring saved redis positions", "err", err)
	}
	if opts.Limit <= 0 {
		opts.Limit = 2 << 20
	}
	f := &Feed{
		cfg: cfg, opts: opts, log: opts.Logger, client: redis.NewClient(ro), ro: ro,
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
	f.positions = newCommitter(f, saved)
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
// every goroutine it started has ended and the positions are written.
func (f *Feed) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	run := func(fn func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); fn(ctx) }()
	}
	run(f.readLoop)
	run(f.resultsLoop)
	var workers sync.WaitGroup
	for _, r := range f.order {
		workers.Go(func() { f.work(ctx, r) })
	}
	// The committer outlives the workers: its last write covers the
	// positions they committed before they stopped.
	commitCtx, stopCommit := context.WithCancel(context.Background())
	committed := make(chan struct{})
	go func() { f.positions.loop(commitCtx); close(committed) }()
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
	workers.Wait()
	stopCommit()
	<-committed
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
	c := redis.NewClient(f.ro)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := f.flushResults(ctx, c); err != nil {
		f.log.Warn("results not written at stop", "results", n, "err", err)
	}
}

// errorf wraps err with the command that failed.
func errorf(what string, err error) error { return fmt.Errorf("%s: %w", what, err) }
