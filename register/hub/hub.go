// Package hub serves the display protocol: it accepts display WebSockets on
// /v1/display, checks each display's token, attaches it to its register's
// stream and writes snapshots and deltas to it.
//
// Each connection has exactly one reader (the HTTP handler goroutine) and one
// writer goroutine. A display that falls behind never delays the others: the
// stream drops frames for it and its writer sends one fresh snapshot instead.
// The hub owns no cart state; the streams do.
package hub

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/posdisplay/posdisplay/register/metrics"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/stream"
)

// Authorizer decides whether a display token may follow a register. It
// returns an id for the display (for logs and revocation) or an error.
type Authorizer interface {
	Authorize(token, register string) (displayID string, err error)
}

// ErrUnauthorized is returned by Authorizers for a missing or wrong token.
var ErrUnauthorized = errors.New("unauthorized")

// Options tune the hub. Zero values take the defaults.
type Options struct {
	// QueueFrames bounds each display's send queue. When full, the queue is
	// dropped and the display gets one snapshot. Default 128: a full POS
	// burst (100 changes) plus room for wake marks and cues.
	QueueFrames int
	// PingInterval is how often the agent pings; a display that does not
	// answer within PongWait is disconnected. Defaults 20 s and 60 s.
	PingInterval time.Duration
	PongWait     time.Duration
	// WriteWait bounds each write: a write that blocks fails after between
	// nine tenths of WriteWait and all of it (cork.go, setDeadline).
	// Default 10 s.
	WriteWait time.Duration
	// HelloWait bounds the wait for the first message. Default 10 s.
	HelloWait time.Duration
	// SendBuffer caps the kernel send buffer of each display socket
	// (default 64 KiB). Without it Linux grows the buffer to megabytes, and
	// a stalled display would hoard seconds of stale deltas before its queue
	// overflowed and it got a fresh snapshot.
	SendBuffer int
	// AgentID is announced in welcome messages.
	AgentID string
	// Presence, if set, is called when a display's connection goes live
	// (up) and when it ends, from that connection's goroutine; it must
	// return quickly. The agent records last-seen times with it.
	Presence func(s Session, up bool)
}

// Session is one live display connection.
type Session struct {
	DisplayID string
	Register  string
	Remote    string // host:port of the display
	Since     time.Time
}

func (o *Options) defaults() {
	if o.QueueFrames <= 0 {
		o.QueueFrames = 128
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 20 * time.Second
	}
	if o.PongWait <= 0 {
		o.PongWait = 60 * time.Second
	}
	if o.PongWait <= o.PingInterval {
		// A ping interval configured above the pong wait would drop every
		// idle display before its next ping: give it three pings.
		o.PongWait = 3 * o.PingInterval
	}
	if o.WriteWait <= 0 {
		o.WriteWait = 10 * time.Second
	}
	if o.HelloWait <= 0 {
		o.HelloWait = 10 * time.Second
	}
	if o.SendBuffer <= 0 {
		o.SendBuffer = 64 << 10
	}
}

// Hub is the set of connected displays.
type Hub struct {
	streams  map[string]*stream.Stream
	auth     Authorizer
	opts     Options
	log      *slog.Logger
	metrics  *metrics.Metrics
	upgrader websocket.Upgrader

	mu         sync.Mutex
	conns      map[*conn]struct{}
	pendingAll int
	pendingIP  map[string]int // by sourceKey
	// maxPending and maxPendingPerAddr are the constants of the same
	// names (tests shrink them).
	maxPending, maxPendingPerAddr int
	closed                        bool
	wg                            sync.WaitGroup
	polls                         pollSet // poll.go

	refused  *prometheus.CounterVec
	upgrades *prometheus.CounterVec
	refusals refusalLog
}

// New returns a hub serving the given register streams.
func New(streams map[string]*stream.Stream, auth Authorizer, m *metrics.Metrics, logger *slog.Logger, opts Options) *Hub {
	opts.defaults()
	h := &Hub{streams: streams, auth: auth, opts: opts, log: logger, metrics: m, conns: map[*conn]struct{}{}, pendingIP: map[string]int{}, refused: m.NewDisplayRefusals(), upgrades: m.NewDisplayUpgrades(),
		maxPending: maxPending, maxPendingPerAddr: maxPendingPerAddr}
	h.upgrader = websocket.Upgrader{
		// Displays send only a hello and pongs: a small read buffer keeps
		// 1000 displays cheap. 128 is just above gorilla's floor (125, a
		// control frame's payload); a longer hello is read in pieces. It
		// was 512: 384 KB more at 1000 displays. Writes of prepared frames
		// bypass the write buffer; the pool shares the rest.
		ReadBufferSize:   128,
		WriteBufferSize:  1024,
		WriteBufferPool:  &sync.Pool{},
		HandshakeTimeout: 10 * time.Second,
		CheckOrigin:      sameOriginOrNone,
		// Selected when offered, so that a browser presenting its token
		// as a subprotocol entry accepts the handshake.
		Subprotocols: []string{protocol.DisplaySubprotocol},
	}
	return h
}

// sameOriginOrNone admits native displays (no Origin) and the web display
// page served by this listener (Origin equal to the Host). The token in the
// hello is what grants access; this only stops other web pages from using a
// visitor's browser as a display.
func sameOriginOrNone(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	for _, scheme := range []string{"http://", "https://"} {
		if o == scheme+r.Host {
			return true
		}
	}
	return false
}

// ServeHTTP upgrades a display connection and serves it until it ends.
// A display that presents its token in the upgrade request is checked
// before the upgrade, so a wrong token costs a refused HTTP request and
// never a WebSocket; one that does not (a version 1 display, token in its
// hello) must fit in the limits on silent sockets (see admit).
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	up, presented, err := protocol.ParseDisplayUpgrade(websocket.Subprotocols(r), r.URL.Query())
	var pre *preauth
	switch {
	case err != nil:
		h.refuse(w, r, http.StatusUnauthorized, "unauthorized", protocol.NewError(nil, protocol.CodeUnauthorized, "token", err.Error()))
		return
	case presented:
		var ok bool
		if pre, ok = h.authorizeUpgrade(w, r, up); !ok {
			return
		}
	default:
		if ok, reason := h.admit(r.RemoteAddr); !ok {
			h.refuse(w, r, http.StatusServiceUnavailable, reason, protocol.NewError(nil, protocol.CodeBusy, "",
				"too many display sockets are waiting for their hello; present the token in the upgrade request, or retry later"))
			return
		}
	}
	// A silent socket stops counting once its first message is read (or
	// it ends); endSilent is idempotent. It outlives the request, so it
	// holds the address and not r: keeping each display's request (its
	// headers, URL and context) alive cost 1.3 MB at 1000 displays.
	var once sync.Once
	remote := r.RemoteAddr
	endSilent := func() {
		if !presented {
			once.Do(func() { h.admitted(remote) })
		}
	}
	defer endSilent()
	cw := &corkWriter{ResponseWriter: w, deadlineStep: h.opts.WriteWait / 10}
	ws, err := h.upgrader.Upgrade(cw, r, nil)
	if err != nil {
		h.log.Debug("display upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	if presented {
		h.upgrades.WithLabelValues("upgrade").Inc()
	} else {
		h.upgrades.WithLabelValues("hello").Inc()
	}
	c := newConn(h, ws, r.RemoteAddr)
	c.cork = cw.conn
	c.returns = wantsReturns(r)
	c.batches = wantsBatches(r)
	c.pre, c.endSilent = pre, endSilent
	if !h.add(c) {
		c.closeWith(websocket.CloseGoingAway, "shutting down")
		return
	}
	if !c.serve() {
		h.remove(c)
	}
}

func (h *Hub) add(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	return true
}

func (h *Hub) remove(c *conn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	h.wg.Done()
}

// Revoke closes every connection of the display with this id at once,
// telling it why (an unauthorized error, then close 1008): its token was
// revoked. It returns how many were closed.
func (h *Hub) Revoke(displayID string) int {
	return h.closeDisplay(displayID, websocket.ClosePolicyViolation, protocol.CodeUnauthorized,
		protocol.NewError(nil, protocol.CodeUnauthorized, "token", "display token revoked"))
}

// Disconnect closes every connection of the display with this id with
// 1001 (going away); the display may reconnect and resume. It returns how
// many were closed.
func (h *Hub) Disconnect(displayID string) int {
	return h.closeDisplay(displayID, websocket.CloseGoingAway, "disconnected by the agent", nil)
}

func (h *Hub) closeDisplay(displayID string, code int, text string, farewell *protocol.Error) int {
	h.mu.Lock()
	var victims []*conn
	for c := range h.conns {
		if c.displayID() == displayID {
			victims = append(victims, c)
		}
	}
	polls := h.heldPollsLocked(displayID)
	h.mu.Unlock()
	for _, c := range victims {
		c.shutdownWith(code, text, farewell)
	}
	for _, p := range polls {
		p.end(pollStatus(farewell), farewell)
	}
	return len(victims) + len(polls)
}

// Sessions lists the connections whose hello was accepted and that have
// not ended: who is connected now.
func (h *Hub) Sessions() []Session {
	h.mu.Lock()
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	var out []Session
	for _, c := range conns {
		if s, ok := c.session(); ok {
			out = append(out, s)
		}
	}
	return out
}

// Count returns the number of open display connections.
func (h *Hub) Count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// Close sends every display a close frame (1001 going away), refuses new
// ones, and waits until every connection's goroutines have ended. When ctx
// is done first (a display that does not read, so the close frame cannot be
// written), the remaining sockets are closed hard and Close returns
// ctx.Err() once their goroutines are gone. It is safe to call more than once.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	all := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		all = append(all, c)
	}
	polls := h.heldPollsLocked("")
	h.mu.Unlock()
	for _, c := range all {
		c.shutdown(websocket.CloseGoingAway, "agent shutting down")
	}
	for _, p := range polls {
		p.end(http.StatusServiceUnavailable, protocol.NewError(nil, protocol.CodeShuttingDown, "", "the agent is shutting down"))
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		h.mu.Lock()
		for c := range h.conns {
			_ = c.ws.Close() // unblocks its reader and writer at once
		}
		h.mu.Unlock()
		<-done
		return ctx.Err()
	}
}
