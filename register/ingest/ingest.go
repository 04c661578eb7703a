// Package ingest is the POS side of the agent: the WebSocket that a web POS
// page opens on the register terminal (/v1/pos) and the REST endpoint a POS
// backend pushes to (/v1/registers/{id}/cart). It checks origins, tokens,
// sizes and rates, decodes and validates every message, publishes accepted
// carts to the register's stream, and answers each message with an ack or an
// error. A rejected message changes nothing.
//
// The POS socket is two-way: the agent also sends scans to the page through
// Pages, and the page's acks come back through the ScanAcks hook.
package ingest

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"github.com/posdisplay/posdisplay/register/clock"
	"github.com/posdisplay/posdisplay/register/textclip"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/metrics"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/stream"
)

// Saver persists accepted carts (register/store implements it). Save queues
// the register's cart at stream position seq and returns a channel that
// reports the outcome of the first write covering it (nil: on disk).
type Saver interface {
	Save(c cart.Cart, seq uint64) <-chan error
}

// Options configure the POS side. Zero values take the defaults noted.
type Options struct {
	// AllowedOrigins lists the exact origins (scheme://host[:port]) whose
	// pages may open the POS socket. Empty means none: only requests
	// without an Origin header, and only if AllowMissingOrigin.
	AllowedOrigins []string
	// AllowMissingOrigin admits WebSocket clients that send no Origin
	// (non-browser integrations). Off by default.
	AllowMissingOrigin bool
	// BridgeToken, when set, must be presented by the POS page as the
	// "token" query parameter or an Authorization: Bearer header.
	BridgeToken string
	// BackendToken enables the REST endpoint; requests must carry it as
	// Authorization: Bearer. Empty disables the endpoint.
	BackendToken string
	// SoftLimit is the largest message accepted (default 2 MiB: the
	// largest valid cart is about 1.1 MB); a larger one is answered
	// too_large and the socket stays open. HardLimit (default 4 × SoftLimit)
	// closes the socket with 1009.
	SoftLimit int64
	HardLimit int64
	// Rate and Burst bound messages per second per socket (defaults 50
	// and 100): enough for a cashier scanning fast, not for a runaway loop.
	Rate  float64
	Burst float64
	// AgentID is announced in welcome messages.
	AgentID string
	// WriteWait bounds each write to a page (default 5 s).
	WriteWait time.Duration
	// Clock stamps carts and paces the rate limit; nil is the real clock.
	Clock clock.Clock
}

func (o *Options) defaults() {
	if o.SoftLimit <= 0 {
		o.SoftLimit = 2 << 20
	}
	if o.HardLimit < o.SoftLimit {
		o.HardLimit = 4 * o.SoftLimit
	}
	if o.Rate == 0 {
		o.Rate = 50
	}
	if o.Burst == 0 {
		o.Burst = 100
	}
	if o.WriteWait <= 0 {
		o.WriteWait = 5 * time.Second
	}
}

// Ingest serves the POS endpoints.
type Ingest struct {
	streams map[string]*stream.Stream
	saver   Saver
	metrics *metrics.Metrics
	log     *slog.Logger
	opts    Options

	// ScanAcks, when set, receives the ids of scans the page acknowledged.
	ScanAcks func(register, id string)
	// PageConnected, when set, is called when a page opens a socket for a
	// register, and when the newest page of a register closes while an
	// older one stays open: in both cases the page that receives scans
	// changed (the scan router re-sends unacknowledged scans). page is
	// that socket's id, as SendToPage returns it.
	PageConnected func(register string, page uint64)
	// ScanRefused, when set, receives the scans the page refused
	// (protocol revision 1.1): the scan id, the reason (one of the
	// protocol.Refuse* codes) and the page's message.
	ScanRefused func(register, id, reason, message string)
	// SaleChanged, when set, is told the order and state of a register's
	// cart at stream position seq after every change, so that scans stay
	// bound to their sale.
	SaleChanged func(register string, seq uint64, order string, state cart.State)

	mu     sync.Mutex
	pages  map[string][]*posConn // per register, oldest first
	nextID uint64                // the last posConn.id given
	closed bool
	wg     sync.WaitGroup
}

// New returns the POS side serving the given streams.
func New(streams map[string]*stream.Stream, saver Saver, m *metrics.Metrics, logger *slog.Logger, opts Options) *Ingest {
	opts.defaults()
	return &Ingest{streams: streams, saver: saver, metrics: m, log: logger, opts: opts, pages: map[string][]*posConn{}}
}

// Register mounts the endpoints on mux.
func (in *Ingest) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/pos", in.servePOS)
	mux.HandleFunc("POST /v1/registers/{id}/cart", in.serveREST)
	mux.HandleFunc("DELETE /v1/registers/{id}/cart", in.serveREST)
}

// Apply applies one decoded, validated message (a cart or a clear) to
// register's stream, persists the result and counts it as accepted. Every
// way a cart enters the agent goes through here: the POS socket, the REST
// endpoint and the demo cashier.
func (in *Ingest) Apply(register string, msg protocol.PosMessage) (uint64, *protocol.Error) {
	seq, saved, perr := in.apply(register, msg)
	if perr != nil {
		return 0, perr
	}
	in.awaitSave(register, seq, saved)
	return seq, nil
}

// ApplyQueued is Apply without the wait for the disk: it returns once the
// change is live on the register's stream and queued to be written, with
// the channel that reports the write (nil when nothing changed). A feed
// that keeps its own position in the cart's write (register/redisfeed)
// applies its next entry meanwhile and answers once the write is done.
func (in *Ingest) ApplyQueued(register string, msg protocol.PosMessage) (uint64, <-chan error, *protocol.Error) {
	return in.apply(register, msg)
}

// apply is Apply without the wait for the disk: saved (nil when nothing
// changed or nothing is saved) reports when the change is on disk, and the
// answer to the POS may go out only then.
func (in *Ingest) apply(register string, msg protocol.PosMessage) (uint64, <-chan error, *protocol.Error) {
	st, ok := in.streams[register]
	if !ok {
		return 0, nil, protocol.NewError(msg.ID, protocol.CodeUnknownRegister, "register", "this agent has no register "+register)
	}
	now := in.opts.Clock.Now()
	var res stream.Result
	var err error
	switch msg.Type {
	case protocol.TypeCart:
		if msg.Cart.Register != register {
			return 0, nil, protocol.NewError(msg.ID, protocol.CodeWrongRegister, "register", "cart is for register "+msg.Cart.Register+" but was sent for "+register)
		}
		res, err = st.Publish(*msg.Cart, now)
	case protocol.TypeClear:
		res, err = st.Clear(now)
	default:
		return 0, nil, protocol.NewError(msg.ID, protocol.CodeBadMessage, "type", "unexpected message type "+msg.Type)
	}
	if err != nil {
		in.log.Error("publish failed", "register", register, "err", err)
		return 0, nil, protocol.NewError(msg.ID, protocol.CodeInternal, "", "the agent could not apply the change")
	}
	// Scans learn of a new sale at once, not after the write below: the
	// displays already show it, and a scan read meanwhile belongs to it.
	if res.Changed && in.SaleChanged != nil {
		order, state := "", cart.StateIdle
		if msg.Type == protocol.TypeCart {
			order, state = msg.Cart.Order, msg.Cart.State
		}
		in.SaleChanged(register, res.Seq, order, state)
	}
	var saved <-chan error
	if res.Changed && in.saver != nil {
		// The ack follows the write (docs/protocol.md, "Durability"): one
		// fsync covers every cart accepted while the previous one ran.
		if msg.Type == protocol.TypeCart {
			// The cart now current at res.Seq; Save keeps its own copy
			// (Current would make one more).
			saved = in.saver.Save(*msg.Cart, res.Seq)
		} else {
			saved = in.saver.Save(st.Current())
		}
	}
	in.metrics.Events.WithLabelValues("accepted", msg.Type).Inc()
	return res.Seq, saved, nil
}

// awaitSave waits until the change acked at seq is on disk (or its write
// failed). A failed write is acked all the same, since the cart is live on
// every display; the store retries it and /healthz says degraded.
func (in *Ingest) awaitSave(register string, seq uint64, saved <-chan error) {
	if saved == nil {
		return
	}
	in.saveDone(register, seq, <-saved)
}

// saveDone reports the end of a cart's write; the ack follows either way.
func (in *Ingest) saveDone(register string, seq uint64, err error) {
	if err != nil {
		in.log.Warn("cart acked before it reached the disk", "register", register, "seq", seq, "err", err)
	}
}

func (in *Ingest) rejected(e *protocol.Error) {
	in.metrics.Events.WithLabelValues("rejected", e.Code).Inc()
}

// serveREST handles POST (set cart) and DELETE (clear) from a POS backend.
func (in *Ingest) serveREST(w http.ResponseWriter, r *http.Request) {
	register := r.PathValue("id")
	fail := func(status int, e *protocol.Error) {
		in.rejected(e)
		writeJSON(w, status, e)
	}
	if in.opts.BackendToken == "" {
		fail(http.StatusUnauthorized, protocol.NewError(nil, protocol.CodeUnauthorized, "", "the backend endpoint is disabled: set pos.backend_token in the agent config"))
		return
	}
	if !tokenOK(bearer(r), in.opts.BackendToken) {
		fail(http.StatusUnauthorized, protocol.NewError(nil, protocol.CodeUnauthorized, "", "missing or wrong bearer token"))
		return
	}
	if _, ok := in.streams[register]; !ok {
		fail(http.StatusNotFound, protocol.NewError(nil, protocol.CodeUnknownRegister, "register", "this agent has no register "+textclip.Runes(register, 64)))
		return
	}
	msg := protocol.PosMessage{Type: protocol.TypeClear}
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(io.LimitReader(r.Body, in.opts.SoftLimit+1))
		if err != nil {
			fail(http.StatusBadRequest, protocol.NewError(nil, protocol.CodeBadJSON, "", "could not read the body"))
			return
		}
		if int64(len(body)) > in.opts.SoftLimit {
			fail(http.StatusRequestEntityTooLarge, protocol.NewError(nil, protocol.CodeTooLarge, "", "body larger than the limit"))
			return
		}
		c, perr := protocol.DecodeCart(body)
		if perr != nil {
			fail(http.StatusBadRequest, perr)
			return
		}
		msg = protocol.PosMessage{Type: protocol.TypeCart, Cart: c}
	}
	seq, perr := in.Apply(register, msg)
	if perr != nil {
		fail(StatusFor(perr.Code), perr)
		return
	}
	writeJSON(w, http.StatusOK, protocol.Ack{Type: protocol.TypeAck, Seq: seq})
}

// StatusFor maps an error code to the HTTP status used by the REST endpoint.
func StatusFor(code string) int {
	switch code {
	case protocol.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case protocol.CodeRateLimited:
		return http.StatusTooManyRequests
	case protocol.CodeUnknownRegister:
		return http.StatusNotFound
	case protocol.CodeUnauthorized:
		return http.StatusUnauthorized
	case protocol.CodeForbiddenOrigin:
		return http.StatusForbidden
	case protocol.CodeShuttingDown:
		return http.StatusServiceUnavailable
	case protocol.CodeInternal:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// tokenOK compares in constant time; an empty want never matches.
func tokenOK(got, want string) bool {
	if want == "" || got == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (in *Ingest) originAllowed(origin string) bool {
	if origin == "" {
		return in.opts.AllowMissingOrigin
	}
	for _, o := range in.opts.AllowedOrigins {
		if strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	return false
}

// ErrNoPage is returned by SendToPage when no POS page is connected.
var ErrNoPage = errors.New("no POS page connected")

// SendToPage queues v for the newest POS page socket of register and
// returns that socket's id (PageConnected names sockets by it); its writer
// sends v without waiting for any disk write. An error means v was not
// queued: no page, or the page is not reading.
func (in *Ingest) SendToPage(register string, v any) (page uint64, err error) {
	in.mu.Lock()
	ps := in.pages[register]
	var p *posConn
	if len(ps) > 0 {
		p = ps[len(ps)-1]
	}
	in.mu.Unlock()
	if p == nil {
		return 0, ErrNoPage
	}
	return p.id, p.push(v)
}

// PageConnectedNow reports whether a POS page socket is open for register.
func (in *Ingest) PageConnectedNow(register string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.pages[register]) > 0
}

// Close sends every POS page a close frame (1001), refuses new sockets and
// waits for the connection goroutines. When ctx ends first, the remaining
// sockets are closed hard and Close returns ctx.Err() once their goroutines
// are gone. Safe to call twice.
func (in *Ingest) Close(ctx context.Context) error {
	in.mu.Lock()
	in.closed = true
	var all []*posConn
	for _, ps := range in.pages {
		all = append(all, ps...)
	}
	in.mu.Unlock()
	for _, p := range all {
		p.shutdown()
	}
	done := make(chan struct{})
	go func() { in.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		in.mu.Lock()
		for _, ps := range in.pages {
			for _, p := range ps {
				_ = p.ws.Close() // unblocks its reader and any write at once
			}
		}
		in.mu.Unlock()
		<-done
		return ctx.Err()
	}
}
