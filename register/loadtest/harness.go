package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/register/tlsid"
)

// Server kinds a Scenario can measure.
const (
	ImplAgent = "agent" // the real agent: POS WebSocket in, display protocol out
	ImplRelay = "relay" // bare broadcast relay baseline
	ImplPoll  = "poll"  // AJAX polling baseline
)

// DefaultPollInterval is the polling baseline's period.
const DefaultPollInterval = 250 * time.Millisecond

// dialWorkers bounds concurrent connection set-ups: enough to connect 1000
// displays in about a second without a SYN storm on the accept queue.
const dialWorkers = 32

// Scenario is one measured run: one server process, one POS sender and
// Displays clients.
type Scenario struct {
	Impl     string // ImplAgent, ImplAgentPoll, ImplRelay or ImplPoll
	Shape    string // label for the table, e.g. "steady" or "burst"
	Displays int    // display (or poller) clients
	// TLS serves displays over TLS (the agent's shipped default), pinned
	// by the clients; for the relay, its subscribers. Not for polling.
	TLS     bool
	Changes []Change // the workload, sent in order
	// Rate is changes per second; 0 sends them back to back (a burst).
	Rate float64
	// Settle bounds the wait for the last deliveries after the last send
	// (default 10 s). Deliveries still missing then count as lost.
	Settle time.Duration
	// QueueFrames overrides the agent's per-display queue (0: default).
	QueueFrames int
	// RateLimited keeps the agent's default POS rate limit (50 messages/s,
	// bursts of 100), which the load test otherwise lifts: for the burst a
	// cashier's page may really send. Changes beyond it are refused and
	// count as lost.
	RateLimited bool
	// NoBatches makes the agent's displays announce only "returns", as
	// displays built before protocol revision 1.2 do: every delta is its
	// own message. By default they announce "batch" too, as
	// display/client does, and read batch messages.
	NoBatches bool
	// PollInterval is the pollers' period (default 250 ms).
	PollInterval time.Duration
	// Stderr receives the child's log (warnings and errors); nil discards.
	Stderr io.Writer
	// Feed, with ImplAgent, sends the changes through Redis instead of the
	// POS socket, as a chain's backend does (docs/redis.md): FeedRedis or
	// FeedRediss (TLS). The sender XADDs each change to the register's pos
	// stream on RedisAddr, the agent child follows it; latency still runs
	// from the sender's write (now the XADD) to the display.
	Feed      string
	RedisAddr string
	// RedisCAFile verifies the server's certificate with FeedRediss.
	RedisCAFile string
}

// Feeds a Scenario can send through.
const (
	FeedRedis  = "redis"  // XADD on redis://
	FeedRediss = "rediss" // XADD on rediss:// (TLS on the agent's and the sender's link)
)

// Server is the server's label: Impl, with "+redis" or "+rediss" for a
// Redis feed and "+tls" when the displays use TLS.
func (s Scenario) Server() string { return serverLabel(s.Impl, s.Feed, s.TLS) }

func serverLabel(impl, feed string, tls bool) string {
	if feed != "" {
		impl += "+" + feed
	}
	if tls {
		impl += "+tls"
	}
	return impl
}

// Name is a unique, file-name-safe label of the scenario.
func (s Scenario) Name() string {
	return fmt.Sprintf("%s-%s-%d", s.Server(), s.Shape, s.Displays)
}

// Result is what a scenario measured. Latencies run from the POS sender's
// write of a change to a display's receipt of the frame that carries it.
type Result struct {
	Impl, Shape       string
	Feed              string // Scenario.Feed
	TLS               bool
	Displays, Changes int
	P50, P99, Max     time.Duration // over every (display, change) delivery
	AllP99            time.Duration // p99 over changes of the time until the last display had it
	Deliveries        int           // (display, change) pairs seen
	Covered           int           // of which via a snapshot instead of the delta
	Lost              int           // (display, change) pairs never seen within Settle
	Resyncs           int           // snapshots after each display's first
	Duplicates        int           // frames for changes a display already had
	Rejected          int           // POS messages the server refused
	CPU               time.Duration // server user+system CPU from first send to last receipt
	PeakRSS           int64         // server VmHWM over its whole life, bytes
	Elapsed           time.Duration // first send to last receipt (or Settle)
	ConnectTime       time.Duration // time to connect every display
	Rounds            int           // runs pooled into this result (see Merge)

	// lat holds every delivery's latency and last each change's latency
	// to its last display (0: not complete), in nanoseconds, for Merge.
	lat, last []int64
}

// Run performs one scenario. It starts the server child, connects the POS
// sender and the displays, sends the workload, waits until every display
// has every change (or Settle), and stops everything it started.
func Run(ctx context.Context, s Scenario) (Result, error) {
	res := Result{Impl: s.Impl, Shape: s.Shape, Feed: s.Feed, TLS: s.TLS, Displays: s.Displays, Changes: len(s.Changes)}
	if s.Displays < 1 || len(s.Changes) == 0 {
		return res, errors.New("scenario needs displays and changes")
	}
	if s.Feed != "" && (s.Impl != ImplAgent || s.RedisAddr == "") {
		return res, errors.New("a Redis feed needs the agent and RedisAddr")
	}
	if s.TLS && (s.Impl == ImplPoll || s.Impl == ImplAgentPoll) {
		return res, errors.New("the polling scenarios have no TLS variant")
	}
	if s.Settle <= 0 {
		s.Settle = 10 * time.Second
	}
	if s.PollInterval <= 0 {
		s.PollInterval = DefaultPollInterval
	}
	if s.Stderr == nil {
		s.Stderr = io.Discard
	}
	err := RaiseFileLimit()
	if err != nil {
		return res, err
	}
	k := len(s.Changes)
	sendFor := time.Duration(0)
	if s.Rate > 0 {
		sendFor = time.Duration(float64(k) / s.Rate * float64(time.Second))
	}
	// Everything below ends by this deadline, whatever the server does.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second+sendFor+s.Settle)
	defer cancel()
	deadline, _ := ctx.Deadline()

	server := s.Impl
	if server == ImplAgentPoll {
		server = ImplAgent // the same agent; only its displays differ
	}
	var feed *redisFeed
	var env []string
	if s.RateLimited {
		env = append(env, envLimited+"=1")
	}
	if s.Feed != "" {
		if feed, err = newRedisFeed(s); err != nil {
			return res, err
		}
		defer feed.close()
		env = append(env, feed.childEnv()...)
	}
	ch, err := startChild(server, s.Name(), s.TLS, s.QueueFrames, s.Stderr, env...)
	if err != nil {
		return res, err
	}
	dl := dialer
	if s.TLS {
		if dl.TLSClientConfig, err = tlsid.PinnedClientConfig(ch.fp); err != nil {
			_ = ch.stop()
			return res, err
		}
	}
	childStopped := false
	defer func() {
		if !childStopped {
			_ = ch.stop()
		}
	}()

	snd, err := dialSender(ctx, server, ch.pos)
	if err != nil {
		return res, err
	}
	defer snd.ws.Close()

	// Connect every display before the clock starts.
	connectStart := time.Now()
	var (
		displays    []*wsDisplay
		pollers     []*poller
		longPollers []*longPoller
		tr          *http.Transport
	)
	switch s.Impl {
	case ImplAgentPoll:
		longPollers = make([]*longPoller, s.Displays)
		err = parallel(s.Displays, func(i int) error {
			p := newLongPoller(i, ch.disp, k)
			seq, err := p.connect(ctx)
			if err != nil {
				return err
			}
			if seq != snd.seqBase {
				return fmt.Errorf("display snapshot at seq %d, POS welcome at %d", seq, snd.seqBase)
			}
			longPollers[i] = p
			return nil
		})
	case ImplPoll:
		tr = &http.Transport{MaxIdleConnsPerHost: s.Displays + 8, IdleConnTimeout: time.Minute, DisableCompression: true}
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		pollers = make([]*poller, s.Displays)
		for i := range pollers {
			pollers[i] = &poller{client: hc, url: "http://" + ch.disp + "/v1/cart", rec: newRecord(k)}
		}
		err = parallel(s.Displays, func(i int) error { return pollers[i].poll(ctx) })
	default:
		displays = make([]*wsDisplay, s.Displays)
		defer func() {
			for _, d := range displays {
				if d != nil {
					_ = d.ws.Close()
				}
			}
		}()
		err = parallel(s.Displays, func(i int) error {
			d, seq, err := dialDisplay(ctx, &dl, s.Impl, ch.disp, k, !s.NoBatches)
			if err != nil {
				return err
			}
			if seq != snd.seqBase {
				d.ws.Close()
				return fmt.Errorf("display snapshot at seq %d, POS welcome at %d", seq, snd.seqBase)
			}
			displays[i] = d
			return nil
		})
	}
	if err != nil {
		return res, fmt.Errorf("connecting %d displays: %w", s.Displays, err)
	}
	res.ConnectTime = time.Since(connectStart)

	clk := clock{base: time.Now()}
	pr := newProgress(s.Displays)
	var wg sync.WaitGroup
	readDeadline := clk.base.Add(sendFor + s.Settle + 5*time.Second)
	pollCtx, stopPolls := context.WithDeadline(ctx, readDeadline)
	defer stopPolls()
	for _, d := range displays {
		wg.Go(func() { d.read(clk, snd.seqBase, readDeadline, pr) })
	}
	for _, p := range longPollers {
		wg.Go(func() { p.run(pollCtx, clk, snd.seqBase, pr) })
	}
	for i, p := range pollers {
		// Spread the pollers' phases evenly over one interval, as browsers
		// opened at random times would be.
		start := clk.base.Add(time.Duration(int64(s.PollInterval) * int64(i) / int64(len(pollers))))
		wg.Go(func() { p.run(pollCtx, clk, start, s.PollInterval, pr) })
	}
	if server == ImplAgent {
		go snd.readAcks(readDeadline, s.Stderr)
	}

	cpu0, _, uerr0 := ch.usage()
	sent := make([]int64, k)
	var sendErr error
	_ = snd.ws.SetWriteDeadline(deadline)
	for i, c := range s.Changes {
		if s.Rate > 0 {
			at := clk.base.Add(time.Duration(float64(i) / s.Rate * float64(time.Second)))
			if d := time.Until(at); d > 0 {
				time.Sleep(d)
			}
		}
		payload := c.Delta
		switch s.Impl {
		case ImplAgent, ImplAgentPoll:
			payload = c.POS
		case ImplPoll:
			payload = c.Cart
		}
		sent[i] = clk.now()
		if feed != nil {
			sendErr = feed.add(ctx, payload)
		} else {
			sendErr = snd.ws.WriteMessage(websocket.TextMessage, payload)
		}
		if sendErr != nil {
			break
		}
	}
	lastSend := time.Now()
	if sendErr == nil {
		select {
		case <-pr.done:
		case <-time.After(time.Until(lastSend.Add(s.Settle))):
		case <-ctx.Done():
		}
	}
	res.Elapsed = time.Since(clk.base)
	cpu1, rss, uerr := ch.usage()
	res.CPU, res.PeakRSS = cpu1-cpu0, rss

	// Stop the server first: the agent sends every display a close frame,
	// which ends the readers; then close whatever is left.
	stopPolls()
	_ = snd.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	childStopped = true
	stopErr := ch.stop()
	for _, d := range displays {
		_ = d.ws.Close()
	}
	_ = snd.ws.Close()
	wg.Wait()
	<-snd.readDone
	if sendErr != nil {
		return res, fmt.Errorf("sending: %w", sendErr)
	}
	if err := errors.Join(uerr0, uerr); err != nil {
		return res, fmt.Errorf("reading the server's usage: %w", err)
	}
	if stopErr != nil {
		fmt.Fprintf(s.Stderr, "loadtest: %s: stopping the server: %v\n", s.Name(), stopErr)
	}
	res.Rejected = int(snd.rejected.Load())
	if feed != nil {
		n, err := feed.refused(ctx)
		if err != nil {
			return res, err
		}
		res.Rejected += n
	}

	var recs []*record
	for _, d := range displays {
		recs = append(recs, d.rec)
	}
	for _, p := range pollers {
		recs = append(recs, p.rec)
	}
	for _, p := range longPollers {
		if p != nil {
			recs = append(recs, p.rec)
		}
	}
	summarize(&res, sent, recs)
	return res, nil
}

// summarize fills the latency and loss figures of res.
func summarize(res *Result, sent []int64, recs []*record) {
	all := make([]int64, 0, len(sent)*len(recs))
	last := make([]int64, len(sent))
	complete := make([]bool, len(sent))
	for i := range complete {
		complete[i] = true
	}
	var lastT int64
	for _, r := range recs {
		res.Resyncs += r.snapshots
		res.Duplicates += r.dups
		for i, t := range r.got {
			if t == 0 {
				res.Lost++
				complete[i] = false
				continue
			}
			lat := max(t-sent[i], 0)
			all = append(all, lat)
			last[i] = max(last[i], lat)
			lastT = max(lastT, t)
			if r.covered[i] {
				res.Covered++
			}
		}
	}
	res.Deliveries = len(all)
	res.Rounds = 1
	res.lat = all // sorted below
	res.last = make([]int64, len(last))
	for i, ok := range complete {
		if ok {
			res.last[i] = last[i]
		}
	}
	if lastT > 0 {
		res.Elapsed = time.Duration(lastT - sent[0])
	}
	slices.Sort(all)
	res.P50 = time.Duration(percentile(all, 0.50))
	res.P99 = time.Duration(percentile(all, 0.99))
	if len(all) > 0 {
		res.Max = time.Duration(all[len(all)-1])
	}
	var per []int64
	for i, ok := range complete {
		if ok {
			per = append(per, last[i])
		}
	}
	slices.Sort(per)
	res.AllP99 = time.Duration(percentile(per, 0.99))
}

// percentile returns the nearest-rank q-quantile of sorted (0 when empty).
func percentile(sorted []int64, q float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// parallel runs f(0..n-1) on dialWorkers goroutines and returns the first
// error; after an error the remaining indexes are skipped.
func parallel(n int, f func(i int) error) error {
	var (
		mu    sync.Mutex
		next  int
		first error
		wg    sync.WaitGroup
	)
	for range min(dialWorkers, n) {
		wg.Go(func() {
			for {
				mu.Lock()
				if first != nil || next == n {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// Merge pools runs of one scenario (same server, shape and display count)
// into one result: latency percentiles over every delivery of every run,
// losses and counts summed, CPU averaged per run, peak memory the highest.
// Runs that alternate with their relay's runs spread the machine's noise
// (another process, a GC, a timer tick) over both instead of one.
func Merge(rs ...Result) (Result, error) {
	if len(rs) == 0 {
		return Result{}, errors.New("nothing to merge")
	}
	out := rs[0]
	out.lat, out.last = nil, nil
	out.Deliveries, out.Covered, out.Lost, out.Resyncs, out.Duplicates, out.Rejected, out.Changes = 0, 0, 0, 0, 0, 0, 0
	out.CPU, out.Elapsed, out.ConnectTime, out.PeakRSS, out.Rounds = 0, 0, 0, 0, 0
	var all, per []int64
	for _, r := range rs {
		if r.Impl != out.Impl || r.Feed != out.Feed || r.TLS != out.TLS || r.Shape != out.Shape || r.Displays != out.Displays {
			return Result{}, fmt.Errorf("merging %s-%s-%d with %s-%s-%d", r.Server(), r.Shape, r.Displays, out.Server(), out.Shape, out.Displays)
		}
		all = append(all, r.lat...)
		for _, l := range r.last {
			if l > 0 {
				per = append(per, l)
			}
		}
		out.Deliveries += r.Deliveries
		out.Covered += r.Covered
		out.Lost += r.Lost
		out.Resyncs += r.Resyncs
		out.Duplicates += r.Duplicates
		out.Rejected += r.Rejected
		out.Changes += r.Changes
		out.CPU += r.CPU
		out.Elapsed += r.Elapsed
		out.ConnectTime = max(out.ConnectTime, r.ConnectTime)
		out.PeakRSS = max(out.PeakRSS, r.PeakRSS)
		out.Rounds += r.Rounds
	}
	out.CPU /= time.Duration(len(rs))
	out.Elapsed /= time.Duration(len(rs))
	slices.Sort(all)
	slices.Sort(per)
	out.lat = all
	out.P50 = time.Duration(percentile(all, 0.50))
	out.P99 = time.Duration(percentile(all, 0.99))
	out.Max = 0
	if len(all) > 0 {
		out.Max = time.Duration(all[len(all)-1])
	}
	out.AllP99 = time.Duration(percentile(per, 0.99))
	return out, nil
}
