package redisfeed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/scanner"
)

// scanQueue sends scans to the registers' scans streams. The backend reads
// them with a consumer group (the agent creates it) and XACKs each one;
// until then Redis re-delivers it to whoever reads the group's pending
// entries. A scan belongs to its sale, as on the POS page side
// (register/scanroute): when the sale ends, or after the scan TTL, the
// agent XACKs and XDELs it, so a backend never adds it to the next sale.
// Scans read while the link is down wait in memory and are sent, in order,
// when it is back.
type scanQueue struct {
	f    *Feed
	wake chan struct{}

	mu     sync.Mutex
	next   uint64
	ready  bool
	queue  []*sentScan // not yet in Redis, oldest first
	out    []*sentScan // in Redis, not yet expired
	expire []*sentScan // to XACK and XDEL
	sales  map[string]*saleState
}

type sentScan struct {
	register string
	msg      protocol.Scan
	gen      uint64
	entry    string // the scans-stream entry id once sent
	// uncertain: an XADD of it failed without an answer (the link broke),
	// so it may be in the stream already.
	uncertain bool
}

// saleState follows a register's sale with the rules of
// scanroute.Router.SaleChanged, which the POS page side uses.
type saleState struct {
	seq   uint64
	order string
	state cart.State
	gen   uint64
}

// maxQueuedScans bounds the scans kept while the link is down.
const maxQueuedScans = 256

func newScanQueue(f *Feed) *scanQueue {
	return &scanQueue{f: f, wake: make(chan struct{}, 1), sales: map[string]*saleState{}}
}

func (q *scanQueue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *scanQueue) saleLocked(register string) *saleState {
	s, ok := q.sales[register]
	if !ok {
		s = &saleState{state: cart.StateIdle}
		q.sales[register] = s
	}
	return s
}

// SubmitScan queues a scan of register for the backend and returns its id
// ("" when refused: empty or not valid UTF-8, as on the page side).
func (f *Feed) SubmitScan(register string, s scanner.Scan) string {
	q := f.scans
	if s.Code == "" || s.InvalidUTF8 || !utf8.ValidString(s.Code) {
		f.m.scans.WithLabelValues("rejected", "invalid_text").Inc()
		f.log.Warn("scan refused: empty or not valid UTF-8", "register", register, "source", s.Source)
		return ""
	}
	q.mu.Lock()
	q.next++
	sl := q.saleLocked(register)
	e := &sentScan{register: register, gen: sl.gen, msg: protocol.Scan{
		Type: protocol.TypeScan, ID: fmt.Sprintf("%s-r%d", f.opts.Epoch, q.next),
		Code: s.Code, Symbology: s.Symbology, Source: s.Source, At: s.At, GTIN: s.GTIN(), Order: sl.order,
	}}
	if e.msg.At.IsZero() {
		e.msg.At = time.Now()
	}
	if len(q.queue) >= maxQueuedScans {
		q.queue = q.queue[1:]
		f.m.scans.WithLabelValues("dropped", "queue_full").Inc()
	}
	q.queue = append(q.queue, e)
	q.mu.Unlock()
	q.poke()
	return e.msg.ID
}

// SaleChanged tells the feed a register's cart at stream position seq (the
// agent calls it after every change, from any source). When the sale
// ended, the scans read in it are withdrawn.
func (f *Feed) SaleChanged(register string, seq uint64, order string, state cart.State) {
	q := f.scans
	q.mu.Lock()
	s := q.saleLocked(register)
	if seq != 0 && seq <= s.seq {
		q.mu.Unlock()
		return
	}
	ended := (s.order != "" && order != s.order) ||
		((s.state == cart.StateOpen || s.state == cart.StatePayment) && (state == cart.StateComplete || state == cart.StateIdle))
	s.seq, s.order, s.state = seq, order, state
	if ended {
		s.gen++
		q.withdrawLocked(func(e *sentScan) bool { return e.register == register && e.gen != s.gen }, "sale_changed")
	}
	q.mu.Unlock()
	if ended {
		q.poke()
	}
}

// withdrawLocked drops queued scans that match and marks sent ones for
// XACK and XDEL.
func (q *scanQueue) withdrawLocked(match func(*sentScan) bool, reason string) {
	kept := q.queue[:0:0]
	for _, e := range q.queue {
		if match(e) {
			q.f.m.scans.WithLabelValues("dropped", reason).Inc()
			continue
		}
		kept = append(kept, e)
	}
	q.queue = kept
	out := q.out[:0:0]
	for _, e := range q.out {
		if match(e) {
			q.f.m.scans.WithLabelValues("expired", reason).Inc()
			q.expire = append(q.expire, e)
			continue
		}
		out = append(out, e)
	}
	q.out = out
}

// redirectRetry is how soon a scan refused with MOVED or ASK is sent
// again: go-redis reloads a cluster's slot map in the background, with a
// 200 ms cooldown between reloads.
const redirectRetry = 250 * time.Millisecond

// findWindow is how far back find looks: scans are XADDed one at a time,
// in order, so a scan whose XADD lost its answer is among the newest.
const findWindow = 16

// find returns the entry id of the scan with id if the stream's newest
// entries hold it: an XADD whose answer the link lost may have been
// applied, and sending it again would deliver the scan twice.
func (q *scanQueue) find(ctx context.Context, key, id string) (string, error) {
	msgs, err := q.f.client.XRevRangeN(ctx, key, "+", "-", findWindow).Result()
	if err != nil {
		return "", errorf("xrevrange scans", err)
	}
	for _, m := range msgs {
		raw, _ := m.Values[FieldMsg].(string)
		var s struct {
			ID string `json:"id"`
		}
		if json.Unmarshal([]byte(raw), &s) == nil && s.ID == id {
			return m.ID, nil
		}
	}
	return "", nil
}

func (q *scanQueue) createGroups(ctx context.Context) error {
	for _, r := range q.f.order {
		err := q.f.client.XGroupCreateMkStream(ctx, r.scans, q.f.cfg.ScanGroup, "0").Err()
		if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
			return errorf("xgroup create "+r.scans, err)
		}
	}
	q.mu.Lock()
	q.ready = true
	q.mu.Unlock()
	return nil
}

func (q *scanQueue) loop(ctx context.Context) {
	t := time.NewTicker(max(q.f.cfg.ScanTTL/8, 50*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-t.C:
			q.mu.Lock()
			now := time.Now()
			q.withdrawLocked(func(e *sentScan) bool { return now.Sub(e.msg.At) > q.f.cfg.ScanTTL }, "expired")
			q.mu.Unlock()
		}
		if err := q.send(ctx); err != nil && ctx.Err() == nil {
			q.f.log.Debug("scans wait for the redis link", "err", err)
		}
	}
}

// send withdraws the scans of ended sales, then writes queued scans in
// order: a scan sent after a sale ended is never seen before the
// withdrawal of that sale's scans. It stops at the first failure; the
// reader's reconnect pokes it again.
func (q *scanQueue) send(ctx context.Context) error {
	q.mu.Lock()
	batch := q.expire
	q.expire = nil
	q.mu.Unlock()
	if len(batch) > 0 {
		pipe := q.f.client.Pipeline()
		for _, e := range batch {
			key := q.f.byName[e.register].scans
			pipe.XAck(ctx, key, q.f.cfg.ScanGroup, e.entry)
			pipe.XDel(ctx, key, e.entry)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			q.mu.Lock()
			q.expire = append(batch, q.expire...)
			q.mu.Unlock()
			return errorf("withdraw scans", err)
		}
	}
	for {
		q.mu.Lock()
		if !q.ready || len(q.queue) == 0 {
			q.mu.Unlock()
			break
		}
		e := q.queue[0]
		q.mu.Unlock()
		data, err := json.Marshal(e.msg)
		if err != nil {
			return err
		}
		key := q.f.byName[e.register].scans
		id := ""
		if e.uncertain {
			if id, err = q.find(ctx, key, e.msg.ID); err != nil {
				return err
			}
		}
		if id == "" {
			var c redis.Cmdable
			if c, err = q.f.exactOnce(ctx, key); err == nil {
				id, err = c.XAdd(ctx, &redis.XAddArgs{Stream: key, MaxLen: q.f.cfg.MaxLen, Approx: true, Values: []string{FieldMsg, string(data)}}).Result()
			}
		}
		if err != nil {
			var rerr redis.Error
			if !errors.As(err, &rerr) {
				e.uncertain = true
			}
			if q.f.redirected(ctx, err) {
				// The slot moved (a cluster resharded): try again once the
				// client has reloaded the slot map (in the background).
				time.AfterFunc(redirectRetry, q.poke)
			}
			return errorf("xadd scans", err)
		}
		q.mu.Lock()
		e.entry = id
		if len(q.queue) > 0 && q.queue[0] == e {
			q.queue = q.queue[1:]
		}
		ended := e.gen != q.saleLocked(e.register).gen
		if ended {
			q.expire = append(q.expire, e) // its sale ended while it was being sent
		} else {
			q.out = append(q.out, e)
		}
		q.mu.Unlock()
		if ended {
			q.poke()
		}
		q.f.m.scans.WithLabelValues("sent", "").Inc()
	}
	return nil
}
