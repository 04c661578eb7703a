package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"github.com/posdisplay/posdisplay/register/textclip"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/register/protocol"
)

// Keepalive for POS sockets: the page is local, but a frozen tab must still
// be noticed so that scans go to a live page.
const (
	posPingInterval = 20 * time.Second
	posPongWait     = 60 * time.Second
)

type posConn struct {
	in       *Ingest
	ws       *websocket.Conn
	register string
	remote   string
	id       uint64 // unique in the Ingest, from 1; set when registered

	// replies carries the reader's answers, in the order of the messages
	// they answer, to writeLoop (set by readLoop, used by the reader only).
	replies chan<- reply
	// pushes carries the agent's own messages (scans) to writeLoop, the
	// socket's one writer once the page is registered, as a display's
	// writer is in the hub. writerDone is closed when it returns.
	pushes     chan any
	writerDone chan struct{}

	dmu       sync.Mutex // orders read-deadline updates (see extend)
	closeOnce sync.Once
	done      chan struct{}
}

// maxUnacked bounds the POS messages applied but not yet answered because
// their cart is still being written. The reader goes on with the next
// message while the store writes (one fsync then covers several carts,
// docs/protocol.md "Durability"): displays get a change before it is on
// disk, its ack after. Waiting for each ack before reading on made a burst
// of 500 carts take 500 fsyncs. The bound is for memory (a reply and its
// save channel, about 200 bytes) when the disk hangs: at the default rate
// limit a page fills it in 20 s. It used to be 128, and then the reader
// waited for the disk in any burst above that: a burst of 500 to 100
// displays spent a third of its time with the reader parked on a full
// queue behind an fsync (execution trace, ext4), p99 1.8x the bare relay's
// (0.34-2.34, 8 rounds, load 6); with the state on tmpfs, 0.97x. A burst
// the rate limit allows (rate_burst, default 100) never got here either
// way. What keeps an unlimited burst from outrunning the displays' queues
// is now the stream (stream.Publish yields to their writers), not the disk.
const maxUnacked = 1024

// reply is one answer to a POS message: sent once saved (if not nil) has
// reported, after every reply before it.
type reply struct {
	v     any
	saved <-chan error
	seq   uint64
}

// maxPushes bounds the agent's own messages waiting for the writer; a page
// that lets more pile up is not reading, and SendToPage says so.
const maxPushes = 16

// errPageBusy is returned by SendToPage when the page is not reading.
var errPageBusy = errors.New("POS page is not reading: too many messages wait for it")

// writeLoop is the socket's one writer from the reader's start to its end
// (before it, the handshake writes welcome or the refusal alone): the
// reader's answers in order, each ack once its cart is on disk, and the
// agent's own messages (scans) as they come, never behind a disk write.
// After a failed write it only drains, and closes the socket so that the
// reader ends too. It returns when the reader has closed replies and the
// last answer is out; pushes still queued then are dropped (their page is
// gone; the scan router re-sends to the next page).
func (p *posConn) writeLoop(replies <-chan reply) {
	defer close(p.writerDone)
	failed := false
	write := func(v any) {
		if failed {
			return
		}
		if err := p.writeJSON(v); err != nil {
			failed = true
			if !errors.Is(err, errClosing) {
				_ = p.ws.Close()
			}
		}
	}
	var head *reply // the oldest answer; an ack waits for its cart's write
	for {
		next, saved := replies, (<-chan error)(nil)
		if head != nil {
			if head.saved == nil {
				write(head.v)
				head = nil
				continue
			}
			next, saved = nil, head.saved
		}
		select {
		case r, ok := <-next:
			if !ok {
				return
			}
			head = &r
		case err := <-saved:
			p.in.saveDone(p.register, head.seq, err)
			write(head.v)
			head = nil
		case v := <-p.pushes:
			write(v)
		}
	}
}

// push hands v to the writer without waiting for it.
func (p *posConn) push(v any) error {
	select {
	case <-p.writerDone:
		return errClosing
	default:
	}
	select {
	case p.pushes <- v:
		return nil
	default:
		return errPageBusy
	}
}

// errClosing is returned for writes to a page that was sent a close frame:
// nothing may follow it on the wire.
var errClosing = errors.New("POS socket is closing")

func (p *posConn) stopping() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *posConn) writeJSON(v any) error {
	if p.stopping() {
		return errClosing
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_ = p.ws.SetWriteDeadline(time.Now().Add(p.in.opts.WriteWait))
	return p.ws.WriteMessage(websocket.TextMessage, data)
}

// shutdown sends a close frame (1001) and makes the reader return soon.
func (p *posConn) shutdown() {
	p.closeOnce.Do(func() {
		close(p.done)
		_ = p.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "agent shutting down"), time.Now().Add(time.Second))
		p.dmu.Lock()
		_ = p.ws.SetReadDeadline(time.Now().Add(time.Second))
		p.dmu.Unlock()
	})
}

// refuse answers with an error message and closes with 1008.
func (p *posConn) refuse(e *protocol.Error) {
	p.in.rejected(e)
	p.in.log.Info("POS socket refused", "remote", p.remote, "register", textclip.Runes(p.register, 64), "code", e.Code)
	_ = p.writeJSON(e)
	p.closeOnce.Do(func() {
		close(p.done)
		_ = p.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, e.Code), time.Now().Add(time.Second))
	})
	_ = p.ws.Close()
}

func (in *Ingest) servePOS(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if !in.originAllowed(origin) {
		e := protocol.NewError(nil, protocol.CodeForbiddenOrigin, "", "origin not allowed: add it to pos.allowed_origins in the agent config")
		in.rejected(e)
		in.log.Warn("POS socket from a forbidden origin", "origin", textclip.Runes(origin, 100), "remote", r.RemoteAddr)
		writeJSON(w, http.StatusForbidden, e)
		return
	}
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		writeJSON(w, http.StatusServiceUnavailable, protocol.NewError(nil, protocol.CodeShuttingDown, "", "agent is shutting down"))
		return
	}
	in.wg.Add(1)
	in.mu.Unlock()
	defer in.wg.Done()

	up := websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096, CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	q := r.URL.Query()
	p := &posConn{in: in, ws: ws, register: q.Get("register"), remote: r.RemoteAddr, done: make(chan struct{}),
		pushes: make(chan any, maxPushes), writerDone: make(chan struct{})}
	st, ok := in.streams[p.register]
	if !ok {
		p.refuse(protocol.NewError(nil, protocol.CodeUnknownRegister, "register", "this agent has no register "+textclip.Runes(p.register, 64)))
		return
	}
	if in.opts.BridgeToken != "" {
		tok := q.Get("token")
		if tok == "" {
			tok = bearer(r)
		}
		if !tokenOK(tok, in.opts.BridgeToken) {
			p.refuse(protocol.NewError(nil, protocol.CodeUnauthorized, "token", "bridge token missing or wrong"))
			return
		}
	}
	if err := p.writeJSON(protocol.Welcome{Type: protocol.TypeWelcome, Protocol: protocol.Version, Agent: in.opts.AgentID, Register: p.register, Position: st.Position(), Features: protocol.POSFeatures}); err != nil {
		_ = ws.Close()
		return
	}

	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		p.shutdown()
		_ = ws.Close()
		return
	}
	in.nextID++
	p.id = in.nextID
	in.pages[p.register] = append(in.pages[p.register], p)
	in.mu.Unlock()
	gauge := in.metrics.POSConnected.WithLabelValues(p.register)
	gauge.Inc()
	in.log.Info("POS page connected", "remote", p.remote, "register", p.register, "origin", origin)
	if in.PageConnected != nil {
		in.PageConnected(p.register, p.id)
	}

	pingDone := make(chan struct{})
	go func() {
		defer close(pingDone)
		t := time.NewTicker(posPingInterval)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				if err := ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(in.opts.WriteWait)); err != nil {
					return
				}
			}
		}
	}()
	err = p.readLoop()
	in.mu.Lock()
	ps := in.pages[p.register]
	newest := len(ps) > 0 && ps[len(ps)-1] == p
	for i, x := range ps {
		if x == p {
			in.pages[p.register] = append(ps[:i:i], ps[i+1:]...)
			break
		}
	}
	if len(in.pages[p.register]) == 0 {
		delete(in.pages, p.register)
	}
	var next uint64 // the page that receives scans now, if any
	if rest := in.pages[p.register]; len(rest) > 0 {
		next = rest[len(rest)-1].id
	}
	in.mu.Unlock()
	gauge.Dec()
	if newest && next != 0 && in.PageConnected != nil {
		// Scans sent to this page and not acked go to the page that now
		// receives scans; otherwise they would wait for their TTL.
		in.PageConnected(p.register, next)
	}
	p.closeOnce.Do(func() {
		close(p.done)
		code := websocket.CloseNormalClosure
		if errors.Is(err, websocket.ErrReadLimit) {
			code = websocket.CloseMessageTooBig
		}
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
	})
	<-pingDone
	_ = ws.Close()
	in.log.Info("POS page disconnected", "remote", p.remote, "register", p.register, "err", err)
}

func (p *posConn) readLoop() error {
	in, ws := p.in, p.ws
	ws.SetReadLimit(in.opts.HardLimit)
	// Once shutdown has set the short deadline for the page's answer to the
	// close frame, nothing may push it out again (not even this loop's
	// first extend, when Close came before the reader started).
	extend := func() {
		p.dmu.Lock()
		defer p.dmu.Unlock()
		if !p.stopping() {
			_ = ws.SetReadDeadline(time.Now().Add(posPongWait))
		}
	}
	extend()
	ws.SetPongHandler(func(string) error { extend(); return nil })
	limiter := newLimiter(in.opts.Rate, in.opts.Burst)
	replies := make(chan reply, maxUnacked)
	p.replies = replies
	go p.writeLoop(replies)
	defer func() {
		close(replies)
		<-p.writerDone
	}()
	// buf holds one message at a time: nothing decoded from it keeps a
	// reference to its bytes (protocol.TestDecodePOSKeepsNoBytes; the
	// decoder keeps its own copy of the last cart's lines).
	var buf bytes.Buffer
	var dec protocol.POSDecoder
	for {
		typ, r, err := ws.NextReader()
		if err != nil {
			return err
		}
		if p.stopping() {
			// The close frame is out: keep reading only until the page
			// answers it or the shutdown deadline passes; apply nothing.
			if _, err := io.Copy(io.Discard, r); err != nil {
				return err
			}
			continue
		}
		extend()
		if buf.Cap() > maxKeptReadBuffer {
			buf = bytes.Buffer{}
		}
		buf.Reset()
		if _, err := buf.ReadFrom(io.LimitReader(r, in.opts.SoftLimit+1)); err != nil {
			return err
		}
		data := buf.Bytes()
		if int64(len(data)) > in.opts.SoftLimit {
			if _, err := io.Copy(io.Discard, r); err != nil {
				return err
			}
			p.answer(protocol.NewError(nil, protocol.CodeTooLarge, "", "message larger than the limit"))
			continue
		}
		text := typ == websocket.TextMessage
		// A small message is decoded before the rate limiter so that scan
		// acks, which answer the agent's own messages, never count against
		// it (a dropped ack would hold the scan queue). It is decoded once.
		var msg protocol.PosMessage
		var perr *protocol.Error
		decoded := text && len(data) <= maxScanAnswerSize
		if decoded {
			if msg, perr = dec.Decode(data); perr == nil && p.scanAnswer(msg) {
				continue
			}
		}
		if !limiter.AllowN(in.opts.Clock.Now(), 1) {
			p.answer(protocol.NewError(peekID(data), protocol.CodeRateLimited, "", "too many messages per second"))
			continue
		}
		if !text {
			p.answer(protocol.NewError(nil, protocol.CodeBadJSON, "", "messages must be JSON text frames"))
			continue
		}
		if !decoded {
			msg, perr = dec.Decode(data)
		}
		if perr != nil {
			p.answer(perr)
			continue
		}
		if p.scanAnswer(msg) {
			continue
		}
		seq, saved, perr := in.apply(p.register, msg)
		if perr != nil {
			p.answer(perr)
			continue
		}
		replies <- reply{v: protocol.Ack{Type: protocol.TypeAck, ID: msg.ID, Seq: seq}, saved: saved, seq: seq}
	}
}

// ack hands a scan ack from the page to the scan router.
func (p *posConn) ack(msg protocol.PosMessage) {
	if p.in.ScanAcks != nil {
		p.in.ScanAcks(p.register, ackID(msg.ID))
	}
}

func (p *posConn) answer(e *protocol.Error) {
	p.in.rejected(e)
	p.in.log.Debug("POS message rejected", "register", p.register, "code", e.Code, "field", e.Field, "reason", e.Message)
	p.replies <- reply{v: e}
}

// maxKeptReadBuffer bounds the read buffer a POS socket keeps between
// messages: carts of a few kilobytes reuse it (io.ReadAll grew a new one in
// five steps for each 2 KB cart, a fifth of the reader's CPU in a burst),
// and one huge cart does not pin a megabyte for the life of the socket.
const maxKeptReadBuffer = 64 << 10

// maxScanAnswerSize bounds the messages checked for being a scan ack or
// refuse before the rate limiter: an ack is {"type":"ack","id":"<64
// bytes>"}; the largest valid refuse, every character of its 64-byte reason
// and 280-character message written as a 6-byte \uXXXX escape, is about
// 2.2 KB.
const maxScanAnswerSize = 4096

// maxPeekSize bounds the rate-limited messages parsed for their id.
const maxPeekSize = 64 << 10

// peekID recovers a message id for error answers when the message was not
// decoded (rate limited). Only small messages are looked at: parsing a
// large one to answer "too many messages" would cost what the limit saves.
func peekID(data []byte) protocol.ID {
	if len(data) > maxPeekSize {
		return nil
	}
	var env struct {
		ID protocol.ID `json:"id"`
	}
	if json.Unmarshal(data, &env) != nil {
		return nil
	}
	return env.ID
}

// ackID turns an ack's raw id into the scan id string it echoes.
func ackID(id protocol.ID) string {
	var s string
	if json.Unmarshal(id, &s) == nil {
		return s
	}
	return string(id)
}
