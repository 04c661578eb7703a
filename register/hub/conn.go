package hub

import (
	"encoding/json"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/stream"
)

// maxDisplayMessage bounds what a display may send: a hello with a token and
// a resume position fits easily.
const maxDisplayMessage = 4096

// maxQueuedBytes bounds the deltas waiting in one display's queue, besides
// its frame count: 64 deltas of a 500-line cart being rewritten are over
// 100 MiB, which a stalled display would otherwise pin (the frames are
// shared, but a display holds them alive) and later replay instead of
// taking one snapshot. With the kernel's send buffer capped (SendBuffer),
// what a display can have in flight is this plus about 2 × SendBuffer.
const maxQueuedBytes = 1 << 20

// capSendBuffer caps the kernel send buffer of the TCP connection beneath
// nc, unwrapping TLS and the agent's counting listener (tcpConn). Without
// it, under TLS, Linux grew a stalled display's buffer to 3.9 MB: it queued every delta of 30 s (1503 of them) and replayed them all
// instead of getting one snapshot, and 500 such displays held 285 MiB of
// kernel memory.
func capSendBuffer(nc net.Conn, n int) {
	if tc := tcpConn(nc); tc != nil {
		_ = tc.SetWriteBuffer(n)
	}
}

// conn is one display connection: the handler goroutine reads, writeLoop
// writes, shutdown tells both to stop.
type conn struct {
	h      *Hub
	ws     *websocket.Conn
	remote string
	// returns: the display announced the "returns" feature (features.go)
	// and gets return lines; otherwise it gets the version 1 view.
	returns bool
	// batches: the display announced the "batch" feature and gets the
	// deltas ready together as one batch message (batch.go).
	batches bool
	pre     *preauth // the token presented in the upgrade request, if any
	// endSilent ends the socket's count as a silent socket (see admit),
	// once its first message is in.
	endSilent func()

	mu   sync.Mutex
	id   string
	live bool // the writer owns the close; before that, shutdown unblocks the hello read
	// sess is set once the display is subscribed (Hub.Sessions).
	sess *Session

	// sub is the display's queue once it is live (guarded by mu). Its
	// writer blocks on sub.C alone; shutdown, a resync request and the ping
	// timer set their mark and wake it with a wakeFrame.
	sub       *stream.Sub
	resyncReq atomic.Bool
	pingDue   atomic.Bool
	// pongDue and pongData: the display pinged; the writer answers (see
	// cork.go: only the writer writes once the display is live).
	pongDue  atomic.Bool
	pongData atomic.Pointer[string]
	// cork batches the writer's frames into one write (cork.go); nil when
	// the connection was not upgraded through corkWriter.
	cork    *corkConn
	header  [10]byte // the writer's scratch space for a frame header
	beatDue atomic.Bool
	// lastWrite is when the last message went out; only the goroutine that
	// writes (serve, then writeLoop) touches it.
	lastWrite time.Time

	done      chan struct{}
	closeOnce sync.Once
	closeCode int
	closeText string
	farewell  *protocol.Error // sent before the close frame, if set
}

// wakeFrame is never sent: it only wakes a writer blocked on its queue.
var wakeFrame = &stream.Frame{Kind: "wake"}

func newConn(h *Hub, ws *websocket.Conn, remote string) *conn {
	capSendBuffer(ws.NetConn(), h.opts.SendBuffer)
	return &conn{h: h, ws: ws, remote: remote, done: make(chan struct{})}
}

// wake makes the writer look at its marks (stopping, resyncReq, pingDue).
func (c *conn) wake() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sub != nil {
		c.sub.Wake(wakeFrame)
	}
}

func (c *conn) session() (Session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return Session{}, false
	}
	return *c.sess, true
}

func (c *conn) displayID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id
}

// shutdown asks the writer to send a close frame with code and text and end
// the connection. Only the first call's code is used. Before the hello has
// been accepted there is no writer: shutdown then ends the pending hello read
// at once, and serve sends the close frame.
func (c *conn) shutdown(code int, text string) { c.shutdownWith(code, text, nil) }

// shutdownWith is shutdown that first sends farewell (an error message) when
// the display is live, so that it can tell why it was dropped.
func (c *conn) shutdownWith(code int, text string, farewell *protocol.Error) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeText, c.farewell = code, text, farewell
		close(c.done)
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.live {
			_ = c.ws.SetReadDeadline(time.Now())
		}
		if c.sub != nil {
			c.sub.Wake(wakeFrame)
		}
	})
}

// stopping reports whether shutdown was called.
func (c *conn) stopping() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// closeWith writes a close frame and closes the socket; used only before
// the writer goroutine starts.
func (c *conn) closeWith(code int, text string) {
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	_ = c.ws.Close()
}

// reject answers the hello with an error message, then closes with 1008.
func (c *conn) reject(code, field, msg string) {
	c.h.log.Info("display rejected", "remote", c.remote, "code", code, "reason", msg)
	c.writeJSON(protocol.NewError(nil, code, field, msg))
	c.closeWith(websocket.ClosePolicyViolation, code)
}

func (c *conn) writeJSON(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.write(data)
}

// write sends data as one text message. Through the cork it is framed
// here (header and payload in one write, or in the cork's batch):
// gorilla's WriteMessage took and returned a pooled write buffer for each
// message, and returning it allocated (a 24-byte box per message: 5.8 MB
// in a run of 250 changes to 1000 displays, a fifth of the agent's
// allocations).
func (c *conn) write(data []byte) error {
	now := time.Now()
	c.lastWrite = now
	deadline := now.Add(c.h.opts.WriteWait)
	if c.cork == nil {
		_ = c.ws.SetWriteDeadline(deadline)
		return c.ws.WriteMessage(websocket.TextMessage, data)
	}
	return c.cork.writeMessage(appendFrameHeader(c.header[:0], true, websocket.TextMessage, len(data)), data, deadline)
}

// serve answers the hello on the HTTP handler's goroutine. Once the display
// is accepted it hands the connection to two fresh goroutines (reader and
// writer) and returns true, so that net/http releases the buffers a running
// handler pins (about 10 KB per display, and a deep TLS handshake stack).
// It returns false when the connection was refused and is already closed.
func (c *conn) serve() bool {
	ws := c.ws
	ws.SetReadLimit(maxDisplayMessage)
	_ = ws.SetReadDeadline(time.Now().Add(c.h.opts.HelloWait))
	// Checked after setting the deadline: a shutdown from now on moves it.
	if c.stopping() {
		c.closeWith(c.closeCode, c.closeText)
		return false
	}
	_, data, err := ws.ReadMessage()
	c.endSilent()
	if err != nil {
		if c.stopping() {
			c.closeWith(c.closeCode, c.closeText)
			return false
		}
		c.h.log.Debug("display left before hello", "remote", c.remote, "err", err)
		_ = ws.Close()
		return false
	}
	msg, perr := protocol.DecodeDisplay(data)
	if perr != nil {
		c.reject(perr.Code, perr.Field, perr.Message)
		return false
	}
	if msg.Type != protocol.TypeHello {
		c.reject(protocol.CodeBadHello, "type", "the first message must be a hello")
		return false
	}
	hello := msg.Hello
	token := hello.Token
	if c.pre != nil {
		if hello.Register != c.pre.register {
			c.reject(protocol.CodeBadHello, "register", "the hello names another register than the upgrade request")
			return false
		}
		if token == "" {
			token = c.pre.token
		}
	}
	st, ok := c.h.streams[hello.Register]
	if !ok {
		c.reject(protocol.CodeUnknownRegister, "register", "this agent has no register "+hello.Register)
		return false
	}
	id, err := c.h.auth.Authorize(token, hello.Register)
	if err != nil {
		c.reject(protocol.CodeUnauthorized, "token", "display token missing, wrong or revoked")
		return false
	}
	c.mu.Lock()
	c.id = id
	c.live = true
	c.mu.Unlock()
	if c.stopping() { // revoked or shutting down while we were checking
		c.closeWith(c.closeCode, c.closeText)
		return false
	}
	// A revocation whose Revoke ran between Authorize and setting c.id
	// did not see this connection; asking again closes that window (the
	// registry forgets the token before Revoke looks for connections).
	if _, err := c.h.auth.Authorize(token, hello.Register); err != nil {
		c.reject(protocol.CodeUnauthorized, "token", "display token missing, wrong or revoked")
		return false
	}

	pos := st.Position()
	if err := c.writeJSON(protocol.Welcome{Type: protocol.TypeWelcome, Protocol: protocol.Version, Agent: c.h.opts.AgentID, Register: hello.Register, Position: pos}); err != nil {
		_ = ws.Close()
		return false
	}
	sub := stream.NewSub(c.h.opts.QueueFrames)
	sub.LimitBytes(maxQueuedBytes)
	// From here a shutdown wakes the writer; one before finds it checking
	// stopping before it ever blocks.
	c.mu.Lock()
	c.sub = sub
	c.mu.Unlock()
	catchup, err := st.Subscribe(hello.Resume, sub)
	if err != nil {
		c.h.log.Error("subscribe failed", "register", hello.Register, "err", err)
		c.writeJSON(protocol.NewError(nil, protocol.CodeInternal, "", "could not build the snapshot"))
		c.closeWith(websocket.CloseInternalServerErr, "internal")
		return false
	}
	gauge := c.h.metrics.DisplaysConnected.WithLabelValues(hello.Register)
	gauge.Inc()
	sess := Session{DisplayID: id, Register: hello.Register, Remote: c.remote, Since: time.Now()}
	c.mu.Lock()
	c.sess = &sess
	c.mu.Unlock()
	if c.h.opts.Presence != nil {
		c.h.opts.Presence(sess, true)
	}
	c.h.log.Info("display connected", "remote", c.remote, "display", id, "register", hello.Register, "resumed", len(catchup) > 0 && catchup[0].Kind == protocol.TypeResumed)

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop(st, sub, catchup)
	}()
	go func() {
		defer c.h.remove(c)
		err := c.readLoop()
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() && !c.stopping() {
			// Silent: no pong, no message for PongWait. A close frame
			// would not be read either: cut the socket, which also ends
			// a write blocked on it now instead of after WriteWait.
			c.h.metrics.DisplaysCut.WithLabelValues("silent").Inc()
			_ = ws.Close()
		}
		c.shutdown(websocket.CloseNormalClosure, "")
		<-writerDone
		_ = ws.Close()
		st.Unsubscribe(sub)
		gauge.Dec()
		c.mu.Lock()
		c.sess = nil
		c.mu.Unlock()
		if c.h.opts.Presence != nil {
			c.h.opts.Presence(sess, false)
		}
		c.h.log.Info("display disconnected", "remote", c.remote, "display", id, "register", hello.Register, "err", err)
	}()
	return true
}

func (c *conn) readLoop() error {
	ws := c.ws
	// Once the close frame is on its way the writer has set a short read
	// deadline for the peer's answer; a display that keeps talking must not
	// push it out again (it would hold Hub.Close for PongWait).
	extend := func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.stopping() {
			_ = ws.SetReadDeadline(time.Now().Add(c.h.opts.PongWait))
		}
	}
	extend()
	ws.SetPongHandler(func(string) error { extend(); return nil })
	// Gorilla's default handlers would write the pong and the close echo
	// from this goroutine, between two corked frames of the writer's; the
	// writer sends them instead.
	ws.SetPingHandler(func(data string) error {
		c.pongData.Store(&data)
		if !c.pongDue.Swap(true) {
			c.wake()
		}
		return nil
	})
	ws.SetCloseHandler(func(code int, _ string) error {
		c.shutdown(code, "")
		return nil
	})
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return err
		}
		extend()
		msg, perr := protocol.DecodeDisplay(data)
		if perr != nil || msg.Type != protocol.TypeResync {
			// Displays are read-only: anything but a resync is ignored,
			// but logged so a broken display can be diagnosed.
			c.h.log.Debug("display sent an unexpected message", "remote", c.remote, "err", perr)
			continue
		}
		// A display repeating its request before the writer got to it
		// adds nothing: only a new mark queues a wake frame, so requests
		// cannot fill the display's queue.
		if !c.resyncReq.Swap(true) {
			c.wake()
		}
	}
}

var errGap = errors.New("gap in stream")

// observe counts delta f in the fan-out latency as it is handed to the
// (corked) socket: keeping every accepted-at time of a batch until its
// flush cost 6 MB of allocations per burst at 1000 displays.
func (c *conn) observe(f *stream.Frame) {
	if f.Kind == protocol.TypeDelta {
		c.h.metrics.FanoutLatency.Observe(time.Since(f.At).Seconds())
	}
}

// corkUp holds the writer's writes back until flush (cork.go).
func (c *conn) corkUp() {
	if c.cork != nil {
		c.cork.cork()
	}
}

// corked returns the bytes held back for the next flush.
func (c *conn) corked() int {
	if c.cork == nil {
		return 0
	}
	return c.cork.held()
}

// flush sends what was held back since corkUp.
func (c *conn) flush() error {
	if c.cork == nil {
		return nil
	}
	return c.cork.flush()
}

func (c *conn) writeLoop(st *stream.Stream, sub *stream.Sub, catchup []*stream.Frame) {
	ws := c.ws
	var last uint64
	send := func(f *stream.Frame) error {
		if err := c.write(f.For(c.returns)); err != nil {
			return err
		}
		c.observe(f)
		last = f.Seq
		return nil
	}
	resync := func(reason string) error {
		sub.Drain()
		sub.TakeOverflow()
		f := st.Snapshot()
		c.h.metrics.Resyncs.WithLabelValues(reason).Inc()
		if reason == "slow" {
			c.h.metrics.DisplaysCut.WithLabelValues("slow").Inc()
		}
		return send(f)
	}
	finish := func(err error) {
		if err != nil {
			c.shutdown(websocket.CloseInternalServerErr, "write failed")
		}
		// done is closed now, so closeCode and closeText are settled.
		code, text := c.closeCode, c.closeText
		if err == nil && c.farewell != nil {
			_ = c.writeJSON(c.farewell)
		}
		if err == nil || code != websocket.CloseInternalServerErr {
			_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
		}
		// Give the peer a moment to answer the close, then unblock the reader.
		c.mu.Lock() // ordered with readLoop's extend
		_ = ws.SetReadDeadline(time.Now().Add(time.Second))
		c.mu.Unlock()
		if err != nil {
			_ = ws.Close()
		}
	}
	c.corkUp()
	for _, f := range catchup {
		if err := send(f); err != nil {
			finish(err)
			return
		}
	}
	if err := c.flush(); err != nil {
		finish(err)
		return
	}
	// run is the batch being taken (batch.go); only a display that
	// announced batches gets one, and only while its writer empties a
	// queue of several frames (gathering).
	var run batchRun
	gathering := false
	// take writes one frame from the queue (or what it stands for).
	take := func(f *stream.Frame) error {
		sub.Taken(f)
		switch {
		case f == wakeFrame:
		case f.Kind == protocol.TypeCue:
			if err := run.flush(c); err != nil {
				return err
			}
			return c.write(f.Data)
		case sub.TakeOverflow(): // frames after f were dropped: f is stale too
			if err := run.flush(c); err != nil { // consecutive deltas, then the snapshot
				return err
			}
			return resync("slow")
		case f.Seq <= last:
		case f.Seq != last+1:
			c.h.log.Warn("gap in display stream", "remote", c.remote, "last", last, "got", f.Seq, "err", errGap)
			if err := run.flush(c); err != nil {
				return err
			}
			return resync("gap")
		case gathering && c.batches && c.cork != nil && f.Kind == protocol.TypeDelta:
			if run.full() {
				if err := run.flush(c); err != nil {
					return err
				}
			}
			if err := run.add(c, f); err != nil {
				return err
			}
			last = f.Seq
		default:
			if err := run.flush(c); err != nil {
				return err
			}
			return send(f)
		}
		return nil
	}
	// One blocking receive on the queue, as lean as a bare relay's writer:
	// everything else arrives as a mark plus a wakeFrame.
	ping := time.AfterFunc(c.h.opts.PingInterval, func() { c.pingDue.Store(true); c.wake() })
	defer ping.Stop()
	// The heartbeat timer is armed for HeartbeatInterval after the last
	// write: an idle display gets one beat a second, a busy one none, and
	// the timer fires at most once a second either way.
	beat := time.AfterFunc(HeartbeatInterval, func() { c.beatDue.Store(true); c.wake() })
	defer beat.Stop()
	for {
		var err error
		switch {
		case c.stopping():
			finish(nil)
			return
		case sub.TakeOverflow():
			err = resync("slow")
		case c.resyncReq.Swap(false):
			err = resync("requested")
		case c.pingDue.Swap(false):
			err = ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.h.opts.WriteWait))
			ping.Reset(c.h.opts.PingInterval)
		case c.beatDue.Swap(false):
			// A few ms early is as good as on time; re-arming for them
			// would only add a wake-up.
			if quiet := time.Since(c.lastWrite); quiet >= HeartbeatInterval-10*time.Millisecond {
				err = c.write(heartbeatFrame)
				beat.Reset(HeartbeatInterval)
			} else {
				beat.Reset(HeartbeatInterval - quiet)
			}
		case c.pongDue.Swap(false):
			var data []byte
			if p := c.pongData.Load(); p != nil {
				data = []byte(*p)
			}
			err = ws.WriteControl(websocket.PongMessage, data, time.Now().Add(c.h.opts.WriteWait))
		default:
			// Every frame already queued goes out in one write, up to
			// maxCorked bytes (cork.go); marks set meanwhile wait for
			// the next turn of the loop.
			f := <-sub.C
			if len(sub.C) == 0 { // the steady case: one frame, written as is
				err = take(f)
				break
			}
			c.corkUp()
			gathering = true
			err = take(f)
			for err == nil && c.corked()+run.waiting(c) < maxCorked && !c.stopping() {
				select {
				case f = <-sub.C:
					err = take(f)
					continue
				default:
				}
				break
			}
			gathering = false
			if rerr := run.flush(c); err == nil {
				err = rerr
			}
			if ferr := c.flush(); err == nil {
				err = ferr
			}
		}
		if err != nil {
			c.h.log.Info("display write failed", "remote", c.remote, "err", err)
			finish(err)
			return
		}
	}
}
