package redisfeed

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/store"
)

// readBlock is how long one XREAD waits for an entry. A dead link that
// drops no packet is noticed after readBlock plus go-redis's 10 s margin.
const readBlock = 5 * time.Second

// readBatch bounds the entries applied per XREAD: a register that fell far
// behind catches up in batches, without one huge reply.
const readBatch = 100

func (f *Feed) readLoop(ctx context.Context) {
	b := backoff{min: 100 * time.Millisecond, max: 10 * time.Second}
	for {
		up, err := f.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if up {
			b.reset()
		}
		f.linkDown(err)
		if !sleep(ctx, b.next()) {
			return
		}
	}
}

// session connects, finds each register's starting point, then reads and
// applies until the link fails. up reports whether it got that far.
func (f *Feed) session(ctx context.Context) (up bool, err error) {
	if err := f.client.Ping(ctx).Err(); err != nil {
		return false, errorf("ping", err)
	}
	for _, r := range f.order {
		if err := f.start(ctx, r); err != nil {
			return false, err
		}
	}
	if f.cfg.Scans {
		if err := f.scans.createGroups(ctx); err != nil {
			return false, err
		}
	}
	f.linkUp()
	f.scans.poke()
	f.pokeResults()
	// One blocked XREAD per group of at most readerKeys registers; the
	// first to fail ends the session. Closing the client (at stop) or a
	// broken link fails them all at once; after another failure the
	// others end within readBlock.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var groups [][]*following
	for i := 0; i < len(f.order); i += readerKeys {
		groups = append(groups, f.order[i:min(i+readerKeys, len(f.order))])
	}
	errc := make(chan error, len(groups))
	for _, g := range groups {
		go func() { errc <- f.read(ctx, g) }()
	}
	err = <-errc
	cancel()
	for range len(groups) - 1 {
		<-errc
	}
	return true, err
}

// readerKeys bounds the streams of one XREAD. Redis walks every key of a
// blocked XREAD on each wake-up: one XREAD over 200 streams cost 0.56 ms
// of Redis CPU per call at 1,000 entries/s (a quarter of its thread), and
// the single reader's round trips put 80-180 ms on the p99 of that
// register's changes. A lane's agent (a few registers) keeps one reader.
const readerKeys = 32

// read applies the entries of regs until the link fails or ctx ends.
func (f *Feed) read(ctx context.Context, regs []*following) error {
	n := len(regs)
	streams := make([]string, 2*n)
	byKey := make(map[string]*following, n)
	for _, r := range regs {
		byKey[r.key] = r
	}
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for i, r := range regs {
			streams[i], streams[n+i] = r.key, r.readID
		}
		res, err := f.client.XRead(ctx, &redis.XReadArgs{Streams: streams, Count: readBatch, Block: readBlock}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return errorf("xread", err)
		}
		for _, s := range res {
			r := byKey[s.Stream]
			if r == nil {
				continue
			}
			for _, e := range s.Messages {
				if !f.dispatch(ctx, r, e) {
					return ctx.Err()
				}
			}
		}
	}
}

// start sets where register r reads from. With a saved position it reads
// on from there, unless the saved entry was trimmed away (then it jumps to
// the newest, as below, and counts a gap). Without one it applies the
// newest entry, which is the current cart, and reads on from it: old sales
// are never replayed. An empty stream is read from its beginning, so the
// backend's first entry is not missed.
func (f *Feed) start(ctx context.Context, r *following) error {
	last := r.readID
	if last == "0-0" {
		return nil // following an empty stream from its beginning: every entry is new
	}
	if last != "" {
		n, err := f.client.Exists(ctx, r.key).Result()
		if err != nil {
			return errorf("exists "+r.key, err)
		}
		if n == 0 {
			return nil // nothing yet (or a new Redis): new entries are after last
		}
		info, err := f.client.XInfoStream(ctx, r.key).Result()
		if err != nil {
			return errorf("xinfo stream "+r.key, err)
		}
		// The saved entry was trimmed away (the stream's first entry is
		// newer), or an entry after it was deleted: the entries that are
		// left may not follow it. Redis 7.0 counts only XDEL in
		// max-deleted-entry-id, not MAXLEN trimming, hence both checks.
		lastID, _ := parseID(last)
		first, okFirst := parseID(info.FirstEntry.ID)
		deleted, okDeleted := parseID(info.MaxDeletedEntryID)
		if !(okFirst && first.after(lastID)) && !(okDeleted && deleted.after(lastID)) {
			return nil
		}
		f.m.gaps.Inc()
		f.log.Warn("entries after the saved position may have been trimmed: jumping to the newest", "register", r.name, "saved", last, "first", info.FirstEntry.ID)
	}
	newest, err := f.client.XRevRangeN(ctx, r.key, "+", "-", 1).Result()
	if err != nil {
		return errorf("xrevrange "+r.key, err)
	}
	if len(newest) == 0 {
		if r.readID == "" {
			r.readID = "0-0"
			r.mu.Lock()
			r.lastID = "0-0" // following from the stream's beginning
			r.mu.Unlock()
		}
		return nil
	}
	if !f.dispatch(ctx, r, newest[0]) {
		return ctx.Err()
	}
	return nil
}

// dispatch hands an entry to the register's worker and moves the read
// cursor past it. It waits while the worker is a full queue behind.
func (f *Feed) dispatch(ctx context.Context, r *following, e redis.XMessage) bool {
	select {
	case r.queue <- e:
		r.readID = e.ID
		return true
	case <-ctx.Done():
		return false
	}
}

// work applies register r's entries in order until ctx ends. Entries still
// queued then are not applied, and the saved position stays before them.
func (f *Feed) work(ctx context.Context, r *following) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-r.queue:
			f.apply(r, e)
			f.pokeResults()
		}
	}
}

// apply applies one entry, records its id as the register's position in
// the cart store (position.go says why that order) and queues its result,
// to be sent once that write is done. It does not wait for the write: the
// register's next entry is applied meanwhile, and one write covers them
// all. Only r's worker calls it.
func (f *Feed) apply(r *following, e redis.XMessage) {
	msg, perr := decodeEntry(e.Values, f.opts.Limit, &r.dec)
	var seq uint64
	f.opts.Positions.Hold(r.name)
	if perr == nil {
		seq, _, perr = f.opts.Apply.ApplyQueued(r.name, msg)
	}
	written := f.opts.Positions.Advance(r.name, store.Position{Stream: r.key, LastID: e.ID})
	r.mu.Lock()
	r.lastID = e.ID
	r.mu.Unlock()
	res := Result{Type: protocol.TypeAck, Entry: e.ID, ID: msg.ID, Seq: seq}
	if perr != nil {
		res = Result{Type: protocol.TypeError, Entry: e.ID, ID: perr.ID, Code: perr.Code, Field: perr.Field, Message: perr.Message}
		f.m.entries.WithLabelValues("error", perr.Code).Inc()
		f.log.Info("redis entry refused", "register", r.name, "entry", e.ID, "code", perr.Code, "field", perr.Field)
	} else {
		f.m.entries.WithLabelValues("ack", msg.Type).Inc()
	}
	f.mu.Lock()
	f.pending = append(f.pending, pendingResult{key: r.results, res: res, written: written})
	if over := len(f.pending) - maxPendingResults; over > 0 {
		f.pending = append(f.pending[:0:0], f.pending[over:]...)
	}
	f.m.results.Set(float64(len(f.pending)))
	f.mu.Unlock()
}

func (f *Feed) pokeResults() {
	select {
	case f.resultsWake <- struct{}{}:
	default:
	}
}

// resultsLoop writes results as they are queued, so the reader never waits
// for a results round trip before its next XREAD. It is the only writer
// of results, which keeps them in order.
func (f *Feed) resultsLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.resultsWake:
		}
		if err := f.flushResults(ctx, f.client); err != nil && ctx.Err() == nil {
			f.log.Debug("results wait for the redis link", "err", err)
		}
	}
}

// flushResults writes the queued results in one pipeline. On failure they
// stay queued, in order, until the reader reconnects.
func (f *Feed) flushResults(ctx context.Context, c redis.UniversalClient) error {
	f.mu.Lock()
	batch := f.pending
	f.pending = nil
	f.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	// A result follows its entry's write. The writes are group commits,
	// so waiting in order costs about one commit for the whole batch.
	for i, p := range batch {
		if p.written == nil {
			continue
		}
		select {
		case err := <-p.written:
			if err != nil {
				f.log.Warn("redis entry acked before its cart and position reached the disk", "entry", p.res.Entry, "err", err)
			}
			batch[i].written = nil
		case <-ctx.Done():
			f.mu.Lock()
			f.pending = append(batch, f.pending...)
			f.mu.Unlock()
			return ctx.Err()
		}
	}
	pipe := c.Pipeline()
	for _, p := range batch {
		data, err := json.Marshal(p.res)
		if err != nil {
			continue
		}
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: p.key, MaxLen: f.cfg.MaxLen, Approx: true, Values: []string{FieldMsg, string(data)}})
	}
	_, err := pipe.Exec(ctx)
	if err != nil {
		f.mu.Lock()
		f.pending = append(batch, f.pending...)
		f.m.results.Set(float64(len(f.pending)))
		f.mu.Unlock()
		return errorf("xadd results", err)
	}
	f.mu.Lock()
	f.m.results.Set(float64(len(f.pending)))
	f.mu.Unlock()
	return nil
}
