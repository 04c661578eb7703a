// Package scanroute delivers barcode scans to the register's POS page, in
// order and at least once: each register has a queue; the oldest scan is
// sent and the next one waits until the page acks it (a POS that is busy
// with an Ajax round trip takes scans one at a time); unacked scans are
// re-sent when the page reconnects; a scan that is still unacked after the
// configured time is dropped and reported (metric and log), never lost
// silently. A scan belongs to the sale it was read in (see sale.go): when
// the register's cart moves on to another sale, its waiting scans are
// dropped, never delivered into the next customer's order. A page that
// cannot place a scan refuses it (see refuse.go) and gets the next one.
//
// The router owns no sockets: it sends through the Pages interface (the
// POS ingest implements it) and hears acks and reconnects from it.
package scanroute

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/clock"
	"github.com/posdisplay/posdisplay/register/metrics"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/scanner"
)

// Pages sends messages to a register's POS page.
type Pages interface {
	// SendToPage queues v for register's newest page connection and
	// returns that connection's id (the id PageConnected is told), or an
	// error when nothing was queued.
	SendToPage(register string, v any) (page uint64, err error)
}

// Options tune the router.
type Options struct {
	// TTL bounds how long a scan waits for the page's ack (default 2 min):
	// long enough to ride out a page reload, short enough that a stale
	// scan never adds an item to the next customer's sale.
	TTL time.Duration
	// MaxQueue bounds the scans waiting per register (default 256).
	MaxQueue int
	// Cue, when set, is called for every scan routed (displays show a
	// short "scanning" cue).
	Cue func(register string)
	// Clock stamps and expires scans; nil is the real clock.
	Clock clock.Clock
	// Sale, when set, reads the register's current cart: its stream
	// position, order and state. Submit binds each scan to it, so that a
	// scan read after a new sale was published (and shown) belongs to that
	// sale even when the SaleChanged report of the publisher is still on
	// its way; that report, at a position already seen, is then ignored.
	Sale func(register string) (seq uint64, order string, state cart.State)
}

type entry struct {
	msg     protocol.Scan
	sentTo  uint64 // the page connection it was queued for; 0: none
	sending bool   // a pump is queuing it now, outside mu
	sale    uint64 // the register's sale generation when it was read
}

// Router queues scans per register.
type Router struct {
	pages   Pages
	metrics *metrics.Metrics
	log     *slog.Logger
	opts    Options
	prefix  string

	mu     sync.Mutex
	queues map[string][]*entry
	sales  map[string]*sale
	next   uint64
	// page is each register's page connection that receives scans, as
	// PageConnected last said; conns counts those calls, so that a pump
	// can tell one came while it was sending.
	page  map[string]uint64
	conns map[string]uint64
}

// New returns a router sending through pages. idPrefix makes scan ids unique
// across agent restarts (use the stream epoch).
func New(pages Pages, m *metrics.Metrics, logger *slog.Logger, idPrefix string, opts Options) *Router {
	if opts.TTL <= 0 {
		opts.TTL = 2 * time.Minute
	}
	if opts.MaxQueue <= 0 {
		opts.MaxQueue = 256
	}
	return &Router{pages: pages, metrics: m, log: logger, opts: opts, prefix: idPrefix, queues: map[string][]*entry{}, sales: map[string]*sale{},
		page: map[string]uint64{}, conns: map[string]uint64{}}
}

// Submit queues a scan for register's page and sends it at once when no
// earlier scan is waiting for its ack. It never blocks on the network for
// longer than one write to the local page.
//
// A scan whose code is empty or not valid UTF-8 (a serial scanner sending
// Latin-1 or binary data) is refused, reported and not sent: JSON would
// silently turn the bad bytes into U+FFFD and the POS would look up a code
// nobody scanned. Submit then returns "".
func (r *Router) Submit(register string, s scanner.Scan) string {
	if s.Code == "" || s.InvalidUTF8 || !utf8.ValidString(s.Code) {
		r.metrics.Scans.WithLabelValues("rejected", "invalid_text").Inc()
		r.log.Warn("scan refused: empty or not valid UTF-8 (check the scanner's character set)",
			"register", register, "source", s.Source, "symbology", s.Symbology, "bytes", len(s.Code))
		return ""
	}
	gtin := s.GTIN()
	if r.opts.Sale != nil {
		// Outside r.mu: Sale takes the stream's lock.
		seq, order, state := r.opts.Sale(register)
		r.SaleChanged(register, seq, order, state)
	}
	r.mu.Lock()
	r.next++
	sl := r.saleLocked(register)
	e := &entry{msg: protocol.Scan{
		Type: protocol.TypeScan, ID: fmt.Sprintf("%s-%d", r.prefix, r.next),
		Code: s.Code, Symbology: s.Symbology, Source: s.Source, At: s.At,
		GTIN: gtin, Order: sl.order,
	}, sale: sl.gen}
	if e.msg.At.IsZero() {
		e.msg.At = r.opts.Clock.Now()
	}
	q := r.queues[register]
	if len(q) >= r.opts.MaxQueue {
		old := q[0]
		q = q[1:]
		r.dropped(register, old, dropQueueFull)
	}
	r.queues[register] = append(q, e)
	r.mu.Unlock()
	if r.opts.Cue != nil {
		r.opts.Cue(register)
	}
	r.pump(register)
	return e.msg.ID
}

// Ack removes the scan with id from register's queue when the page has
// taken it, and sends the next one. Acks for unknown ids (duplicates after a
// re-send) are ignored.
func (r *Router) Ack(register, id string) {
	r.mu.Lock()
	q := r.queues[register]
	found := false
	for i, e := range q {
		if e.msg.ID == id {
			r.queues[register] = append(q[:i:i], q[i+1:]...)
			found = true
			break
		}
	}
	r.mu.Unlock()
	if !found {
		return
	}
	r.metrics.Scans.WithLabelValues("acked", "").Inc()
	r.pump(register)
}

// PageConnected says that page is now the connection that receives
// register's scans (a page that just connected, or the one left when the
// newest closed), and re-sends the oldest unacked scan to it unless it was
// sent to that very connection: a scan read between the page's socket
// opening and this call already went to it, and is not sent twice.
func (r *Router) PageConnected(register string, page uint64) {
	r.mu.Lock()
	r.page[register] = page
	r.conns[register]++
	for _, e := range r.queues[register] {
		if e.sentTo != page {
			e.sentTo = 0
		}
	}
	r.mu.Unlock()
	r.pump(register)
}

// Pending returns how many scans wait for an ack on register.
func (r *Router) Pending(register string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queues[register])
}

// pump sends the head of register's queue if it has not been sent to the
// page connection that receives scans yet.
func (r *Router) pump(register string) {
	r.mu.Lock()
	q := r.queues[register]
	if len(q) == 0 || q[0].sentTo != 0 || q[0].sending {
		r.mu.Unlock()
		return
	}
	head := q[0]
	head.sending = true
	msg, conns := head.msg, r.conns[register]
	r.mu.Unlock()
	page, err := r.pages.SendToPage(register, msg)
	r.mu.Lock()
	head.sending = false
	// A PageConnected during the send left this scan to us: it is done
	// only if it went to the connection that call named. A send that
	// failed is tried once more on that connection.
	moved := r.conns[register] != conns
	if err == nil {
		head.sentTo = page
		if moved && r.page[register] == page {
			moved = false
		}
		if moved {
			head.sentTo = 0
		}
	}
	r.mu.Unlock()
	if err != nil {
		r.log.Debug("scan waits for the POS page", "register", register, "scan", msg.ID, "err", err)
	} else {
		r.metrics.Scans.WithLabelValues("delivered", "").Inc()
	}
	if moved {
		r.pump(register)
	}
}

// Run expires scans older than the TTL until ctx ends.
func (r *Router) Run(ctx context.Context) error {
	// A scan is dropped at most TTL/8 late; the floor keeps a tiny
	// configured TTL from panicking NewTicker or spinning.
	t := time.NewTicker(max(r.opts.TTL/8, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.mu.Lock()
			for reg, q := range r.queues {
				for _, e := range q {
					r.dropped(reg, e, dropStopping)
				}
			}
			r.queues = map[string][]*entry{}
			r.mu.Unlock()
			return ctx.Err()
		case <-t.C:
			r.Expire()
		}
	}
}

// Expire drops scans older than the TTL and sends the next ones.
func (r *Router) Expire() {
	now := r.opts.Clock.Now()
	var touched []string
	r.mu.Lock()
	for reg, q := range r.queues {
		n := 0
		for n < len(q) && now.Sub(q[n].msg.At) > r.opts.TTL {
			r.dropped(reg, q[n], dropExpired)
			n++
		}
		if n > 0 {
			r.queues[reg] = q[n:]
			touched = append(touched, reg)
		}
	}
	r.mu.Unlock()
	for _, reg := range touched {
		r.pump(reg)
	}
}

// Why a scan was dropped: the reason label of posdisplay_scans_total.
const (
	dropExpired     = "expired"      // not acknowledged within the TTL
	dropQueueFull   = "queue_full"   // MaxQueue newer scans were waiting
	dropStopping    = "stopping"     // the agent stopped
	dropSaleChanged = "sale_changed" // the register moved on to another sale
)

// dropped reports a lost scan; the caller holds r.mu.
func (r *Router) dropped(register string, e *entry, why string) {
	r.metrics.Scans.WithLabelValues("dropped", why).Inc()
	r.log.Warn("scan dropped", "register", register, "scan", e.msg.ID, "symbology", e.msg.Symbology, "source", e.msg.Source, "order", e.msg.Order, "reason", why, "age", r.opts.Clock.Now().Sub(e.msg.At).Round(time.Millisecond))
}
