package client

import (
	"context"
	"errors"
	"fmt"
	"github.com/posdisplay/posdisplay/register/textclip"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/register/protocol"
)

// codeProtocol is a display-local rejection code: the agent speaks another
// protocol version. It never goes on the wire.
const codeProtocol = "protocol_version"

// errResyncTimeout ends a connection on which the snapshot asked for by a
// resync did not arrive in time.
var errResyncTimeout = errors.New("no snapshot after resync")

// closeWait bounds how long a shutting-down client waits for the agent to
// answer its close frame before it closes the socket anyway.
const closeWait = time.Second

// runner is the state of one Run: the replica, the status shown, and the
// reconnect backoff. Only the Run goroutine touches it.
type runner struct {
	c    *Client
	mail chan View // to the OnView goroutine; nil without OnView
	rep  replica

	status     Status
	since      time.Time
	errText    string
	rejectCode string // protocol error code while status is StatusRejected
	bo         backoff
	// wsFailures counts attempts in a row that got no WebSocket
	// (TransportAuto; poll.go).
	wsFailures int
}

func (r *runner) loop(ctx context.Context) error {
	o := &r.c.opts
	r.bo = backoff{min: o.MinBackoff, max: o.MaxBackoff}
	for {
		t, err := o.Source.Next(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			err = checkURL(t.URL)
		}
		if err != nil {
			r.c.log.Warn("no agent address", "err", err)
			r.setStatus(r.downStatus(StatusSearching), "no agent address: "+err.Error())
			if !sleep(ctx, r.bo.next()) {
				return ctx.Err()
			}
			continue
		}
		if r.status == StatusSearching {
			r.setStatus(StatusConnecting, "")
		}
		live, err := r.connect(ctx, t)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if fb, ok := o.Source.(Feedback); ok && !live {
			fb.Failed(t, err)
		}
		delay := r.failed(t, live, err)
		if !sleep(ctx, delay) {
			return ctx.Err()
		}
	}
}

// failed shows why a connection ended and returns the delay before the next
// attempt.
func (r *runner) failed(t Target, live bool, err error) time.Duration {
	o := &r.c.opts
	log := r.c.log.With("url", t.URL, "err", err)
	var pe *protocol.Error
	switch {
	case errors.Is(err, errBackToWebSocket):
		log.Info("leaving polling: a WebSocket opens again")
		return 0
	case o.IsUntrusted != nil && o.IsUntrusted(err):
		log.Warn("agent identity does not match the pairing")
		r.setStatus(StatusUntrusted, "untrusted register: "+err.Error())
		return jitter(o.RejectedBackoff)
	case errors.As(err, &pe) && rejected(pe.Code):
		log.Warn("agent rejected this display", "code", pe.Code)
		r.rejectCode = pe.Code
		r.setStatus(StatusRejected, "rejected: "+pe.Code+": "+pe.Message)
		return jitter(o.RejectedBackoff)
	}
	// A connection that went live and then broke is a fresh start; one that
	// ended in a protocol problem keeps backing off.
	if live && !errors.Is(err, ErrOutOfStep) && !errors.Is(err, errResyncTimeout) {
		r.bo.reset()
	}
	if live {
		log.Warn("connection lost")
	} else {
		log.Info("connection attempt failed")
	}
	r.setStatus(r.downStatus(StatusConnecting), err.Error())
	return r.bo.next()
}

// downStatus is the status while not connected: reconnecting once a cart
// is on screen (it is stale now), otherwise fallback.
func (r *runner) downStatus(fallback Status) Status {
	if r.rep.has {
		return StatusReconnecting
	}
	return fallback
}

// rejected reports whether an agent error code means retrying soon is
// pointless: store IT must fix the token, register id or software.
func rejected(code string) bool {
	switch code {
	case protocol.CodeUnauthorized, protocol.CodeUnknownRegister, protocol.CodeBadHello,
		protocol.CodeForbiddenOrigin, codeProtocol:
		return true
	}
	return false
}

// session runs one connection: dial, hello, then follow the stream until it
// breaks or ctx ends. live reports whether the replica was in step at some
// point. The socket and its reader goroutine are gone when it returns.
func (r *runner) session(ctx context.Context, t Target) (live bool, err error) {
	o := &r.c.opts
	d := websocket.Dialer{
		HandshakeTimeout: o.HandshakeTimeout,
		NetDialContext:   (&net.Dialer{Timeout: o.ConnectTimeout}).DialContext,
		TLSClientConfig:  t.TLS,
		ReadBufferSize:   4096,
		WriteBufferSize:  1024, // the display only writes hello, resync and pings
		// The token goes in the upgrade request too, so that the agent
		// checks it before the upgrade and never counts this display
		// among unauthenticated sockets; the hello keeps it for agents
		// that read it only there.
		Subprotocols: protocol.DisplaySubprotocols(o.Token),
	}
	u, err := protocol.DisplayUpgradeURL(withFeatures(t.URL), o.Register)
	if err != nil {
		return false, fmt.Errorf("dial: %w", err)
	}
	conn, resp, err := d.DialContext(ctx, u, nil)
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
			return false, &protocol.Error{Code: protocol.CodeUnauthorized, Message: "HTTP " + resp.Status}
		}
		if resp != nil {
			return false, fmt.Errorf("dial: %w", &upgradeError{status: resp.StatusCode, err: err})
		}
		return false, fmt.Errorf("dial: %w", err)
	}
	r.rep.newSession()
	conn.SetReadLimit(o.MaxMessageSize)
	refresh := func() { _ = conn.SetReadDeadline(time.Now().Add(o.ReadTimeout)) }
	refresh()
	conn.SetPongHandler(func(string) error { refresh(); return nil })
	conn.SetPingHandler(func(data string) error {
		refresh()
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(o.WriteTimeout))
		var ne net.Error
		if err == websocket.ErrCloseSent || errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	})

	hello := protocol.Hello{Type: protocol.TypeHello, Register: o.Register, Token: o.Token, Resume: r.rep.resume()}
	r.c.log.Debug("connected", "url", t.URL, "resume", hello.Resume != nil)
	if err := r.write(conn, hello); err != nil {
		conn.Close()
		return false, fmt.Errorf("hello: %w", err)
	}

	msgs := make(chan []byte)
	errc := make(chan error, 1)
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				errc <- err
				return
			}
			refresh()
			select {
			case msgs <- data:
			case <-stop:
				return
			}
		}
	}()
	closeCode := websocket.CloseNormalClosure
	defer func() {
		close(stop)
		if closeCode != 0 {
			w := min(o.WriteTimeout, closeWait)
			_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeCode, ""), time.Now().Add(w))
			if closeCode == websocket.CloseNormalClosure {
				// Give the agent a moment to answer the close frame.
				select {
				case <-readerDone:
				case <-time.After(closeWait):
				}
			}
		}
		conn.Close()
		<-readerDone
	}()

	heard := false // a message came: this is a WebSocket to the agent
	ping := time.NewTicker(o.PingInterval)
	defer ping.Stop()
	resync := time.NewTimer(0)
	resync.Stop()
	defer resync.Stop()

	for {
		select {
		case <-ctx.Done():
			closeCode = websocket.CloseGoingAway
			return live, ctx.Err()
		case err := <-errc:
			closeCode = 0
			if !heard {
				err = fmt.Errorf("%w: %w", errNoWelcome, err)
			}
			if errors.Is(err, websocket.ErrReadLimit) {
				// The agent would replay the same oversized message on
				// resume: ask for a snapshot next time instead.
				r.rep.distrust()
			}
			return live, fmt.Errorf("read: %w", err)
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(o.WriteTimeout)); err != nil {
				return live, fmt.Errorf("ping: %w", err)
			}
		case <-resync.C:
			closeCode = websocket.ClosePolicyViolation
			return live, errResyncTimeout
		case data := <-msgs:
			heard = true
			v, err := r.rep.handleData(data, r.c.opts.Clock.Now())
			switch v {
			case wentLive:
				live = true
				resync.Stop()
				r.setStatus(StatusLive, "")
				if lf, ok := r.c.opts.Source.(LiveFeedback); ok {
					lf.Live(t)
				}
			case changed:
				r.publish()
			case outOfStep:
				r.c.log.Warn("replica out of step, asking for a snapshot", "err", err, "failures", r.rep.failures)
				r.setStatus(r.downStatus(StatusConnecting), "out of step, resyncing")
				if r.rep.failures > maxResyncs {
					closeCode = websocket.ClosePolicyViolation
					return live, err
				}
				if err := r.write(conn, protocol.Resync{Type: protocol.TypeResync}); err != nil {
					return live, fmt.Errorf("resync: %w", err)
				}
				resync.Reset(o.ResyncTimeout)
			case ignored:
				if err != nil {
					return live, err
				}
			}
		}
	}
}

func (r *runner) write(conn *websocket.Conn, v any) error {
	if err := conn.SetWriteDeadline(time.Now().Add(r.c.opts.WriteTimeout)); err != nil {
		return err
	}
	return conn.WriteJSON(v)
}

func (r *runner) setStatus(s Status, errText string) {
	if s != StatusRejected {
		r.rejectCode = ""
	}
	if s != r.status {
		r.c.log.Info("status", "status", s, "from", r.status, "reason", errText)
		r.status, r.since = s, r.c.opts.Clock.Now()
	}
	r.errText = sanitize(errText) // may quote agent-supplied text
	r.publish()
}

// publish sends the current View to every consumer. Changed lists the
// lines changed since the previous View, so it is cleared once published.
func (r *runner) publish() {
	v := View{
		Status:     r.status,
		Since:      r.since,
		RejectCode: r.rejectCode,
		HasCart:    r.rep.has,
		Cart:       r.rep.cart,
		Position:   r.rep.pos,
		Changed:    r.rep.changed,
		Restored:   r.rep.restored,
		RestoredAt: r.rep.restoredAt,
		Cue:        r.rep.cue,
		CueAt:      r.rep.cueAt,
		Err:        r.errText,
	}
	r.rep.changed = nil
	r.c.mu.Lock()
	r.c.latest = v
	r.c.mu.Unlock()
	offer(r.c.views, v)
	if r.mail != nil {
		offer(r.mail, v)
	}
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// sanitize makes agent-supplied text safe to show: valid UTF-8, no control
// characters, at most 320 bytes (room for two certificate fingerprints).
func sanitize(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) {
			return -1
		}
		return r
	}, s)
	if len(s) > 320 {
		s = textclip.Bytes(s, 320)
	}
	return s
}
