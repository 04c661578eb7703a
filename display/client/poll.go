package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/register/protocol"
)

// Transport says how a Client reaches the agent (docs/protocol.md,
// "Polling transport").
type Transport int

const (
	// TransportWebSocket uses the display socket only (the default).
	TransportWebSocket Transport = iota
	// TransportPoll uses the polling transport only: HTTP requests held
	// by the agent until something is newer than the client's position.
	TransportPoll
	// TransportAuto uses the display socket, and polls after
	// upgradeFailuresBeforePoll attempts in a row reached the agent's
	// address but got no WebSocket (an HTTP answer other than the
	// upgrade, or a socket closed before its first message), as behind
	// a proxy that strips Upgrade. While polling it tries a WebSocket
	// again every ProbeInterval and moves back when one opens.
	TransportAuto
)

// upgradeFailuresBeforePoll: one or two failed upgrades happen to any
// display (an agent restarting); three in a row, each answered by HTTP,
// mean something on the way does not pass WebSockets.
const upgradeFailuresBeforePoll = 3

// DefaultProbeInterval is how often a client that fell back to polling
// tries a WebSocket again (TransportAuto).
const DefaultProbeInterval = 5 * time.Minute

// errNoWelcome marks a socket that closed before the agent's first message.
var errNoWelcome = errors.New("socket closed before the welcome")

// errBackToWebSocket ends a poll session because a WebSocket opened again:
// the client reconnects at once, over the socket, and resumes.
var errBackToWebSocket = errors.New("a WebSocket opens again: leaving polling")

// upgradeError is a dial answered by HTTP without the upgrade.
type upgradeError struct {
	status int
	err    error
}

func (e *upgradeError) Error() string {
	return fmt.Sprintf("%v (HTTP %d %s)", e.err, e.status, http.StatusText(e.status))
}

func (e *upgradeError) Unwrap() error { return e.err }

// connect runs one session over the transport the options and the history
// of failed upgrades call for.
func (r *runner) connect(ctx context.Context, t Target) (bool, error) {
	o := &r.c.opts
	if o.Transport == TransportPoll || o.Transport == TransportAuto && r.wsFailures >= upgradeFailuresBeforePoll {
		live, err := r.pollSession(ctx, t)
		if errors.Is(err, errBackToWebSocket) {
			r.wsFailures = 0
		}
		return live, err
	}
	live, err := r.session(ctx, t)
	if o.Transport == TransportAuto {
		switch {
		case live:
			r.wsFailures = 0
		case noWebSocket(err):
			r.wsFailures++
			if r.wsFailures == upgradeFailuresBeforePoll {
				r.c.log.Warn("no WebSocket reaches the agent: polling", "err", err)
			}
		}
	}
	return live, err
}

// noWebSocket reports whether a session failed because what answered did
// not carry a WebSocket, as opposed to the agent being unreachable or
// refusing this display.
func noWebSocket(err error) bool {
	if errors.Is(err, errNoWelcome) {
		return true
	}
	var ue *upgradeError
	if !errors.As(err, &ue) {
		return false
	}
	switch {
	case ue.status == http.StatusUnauthorized, ue.status == http.StatusForbidden, ue.status == http.StatusNotFound:
		return false // the agent's own refusals
	case ue.status >= 500:
		return false // the agent busy, or a proxy that cannot reach it
	}
	return true
}

// pollURL turns the display endpoint (ws://HOST:7422/v1/display) into the
// polling endpoint (http://HOST:7422/v1/display/poll) with its query.
func pollURL(raw, register string, wait time.Duration) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + strings.TrimPrefix(protocol.PollPath, "/v1/display")
	q := u.Query()
	q.Set("register", register)
	q.Set("features", protocol.FeatureReturns)
	q.Set("wait", strconv.FormatInt(wait.Milliseconds(), 10))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// pollWait is the hold the client asks for: an answer at least this often
// is the poll's heartbeat, as the socket's is every second, so that a dead
// link is told by the same ReadTimeout.
func (r *runner) pollWait() time.Duration {
	return min(time.Second, r.c.opts.ReadTimeout/2)
}

// pollSession follows the stream over the polling transport until it
// breaks or ctx ends. Each request posts a hello with the replica's
// position; the answer's messages are handled exactly as the socket's.
func (r *runner) pollSession(ctx context.Context, t Target) (live bool, err error) {
	o := &r.c.opts
	wait := r.pollWait()
	endpoint, err := pollURL(t.URL, o.Register, wait)
	if err != nil {
		return false, fmt.Errorf("poll: %w", err)
	}
	// The first request is answered at once, so that a client resuming
	// where the agent is goes live without waiting out a hold.
	firstEndpoint, err := pollURL(t.URL, o.Register, 0)
	if err != nil {
		return false, fmt.Errorf("poll: %w", err)
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: o.ConnectTimeout}).DialContext,
		TLSClientConfig:     t.TLS,
		TLSHandshakeTimeout: o.HandshakeTimeout,
		MaxIdleConnsPerHost: 1,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r.rep.newSession()
	probe := r.startProbe(ctx, t)
	defer probe.stop()
	r.c.log.Debug("polling", "url", t.URL)
	for first := true; ; first = false {
		if probe.opened() {
			return live, errBackToWebSocket
		}
		hello := protocol.Hello{Type: protocol.TypeHello, Register: o.Register, Token: o.Token, Resume: r.rep.resume()}
		body, err := json.Marshal(hello)
		if err != nil {
			return live, fmt.Errorf("poll: %w", err)
		}
		// Silence for ReadTimeout is a dead link, as on the socket: the
		// agent answers within wait. The first request also connects.
		timeout, u := o.ReadTimeout, endpoint
		if first {
			timeout, u = timeout+o.HandshakeTimeout, firstEndpoint
		}
		data, status, err := r.pollOnce(ctx, hc, u, body, timeout)
		if ctx.Err() != nil {
			return live, ctx.Err()
		}
		if err != nil {
			return live, err
		}
		if status != http.StatusOK {
			if m, derr := protocol.DecodeServer(data); derr == nil && m.Error != nil {
				return live, m.Error
			}
			return live, fmt.Errorf("poll: HTTP %d %s", status, http.StatusText(status))
		}
		msgs, err := protocol.SplitPollAnswer(data)
		if err != nil {
			return live, err
		}
		for _, m := range msgs {
			v, err := r.rep.handleData(m, r.c.opts.Clock.Now())
			switch v {
			case wentLive:
				if !live || r.status != StatusLive {
					live = true
					r.setStatus(StatusLive, "")
					if lf, ok := o.Source.(LiveFeedback); ok {
						lf.Live(t)
					}
				}
			case changed:
				r.publish()
			case outOfStep:
				// The next hello has no resume: its answer is a snapshot.
				r.c.log.Warn("replica out of step, asking for a snapshot", "err", err, "failures", r.rep.failures)
				r.setStatus(r.downStatus(StatusConnecting), "out of step, resyncing")
				if r.rep.failures > maxResyncs {
					return live, err
				}
			case ignored:
				if err != nil {
					return live, err
				}
			}
		}
	}
}

// pollOnce posts one hello and reads the answer, at most MaxMessageSize
// bytes of it.
func (r *runner) pollOnce(ctx context.Context, hc *http.Client, endpoint string, body []byte, timeout time.Duration) ([]byte, int, error) {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, 0, fmt.Errorf("poll: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("poll: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, r.c.opts.MaxMessageSize+1))
	if err != nil {
		return nil, 0, fmt.Errorf("poll: read: %w", err)
	}
	if int64(len(data)) > r.c.opts.MaxMessageSize {
		// Resuming would bring the same answer: ask for a snapshot.
		r.rep.distrust()
		return nil, 0, fmt.Errorf("poll: answer above %d bytes", r.c.opts.MaxMessageSize)
	}
	return data, resp.StatusCode, nil
}

// probe tries a WebSocket every ProbeInterval while a TransportAuto
// client polls.
type probe struct {
	cancel context.CancelFunc
	done   chan struct{}
	ok     chan struct{} // closed when a WebSocket opened
}

func (p *probe) opened() bool {
	if p.ok == nil {
		return false
	}
	select {
	case <-p.ok:
		return true
	default:
		return false
	}
}

func (p *probe) stop() {
	if p.cancel != nil {
		p.cancel()
		<-p.done
	}
}

func (r *runner) startProbe(ctx context.Context, t Target) *probe {
	o := &r.c.opts
	if o.Transport != TransportAuto {
		return &probe{}
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &probe{cancel: cancel, done: make(chan struct{}), ok: make(chan struct{})}
	go func() {
		defer close(p.done)
		for sleep(ctx, o.ProbeInterval) {
			if r.dialWebSocket(ctx, t) == nil {
				close(p.ok)
				return
			}
		}
	}()
	return p
}

// dialWebSocket opens a display socket and closes it at once.
func (r *runner) dialWebSocket(ctx context.Context, t Target) error {
	o := &r.c.opts
	d := websocket.Dialer{
		HandshakeTimeout: o.HandshakeTimeout,
		NetDialContext:   (&net.Dialer{Timeout: o.ConnectTimeout}).DialContext,
		TLSClientConfig:  t.TLS,
		Subprotocols:     protocol.DisplaySubprotocols(o.Token),
	}
	u, err := protocol.DisplayUpgradeURL(withFeatures(t.URL), o.Register)
	if err != nil {
		return err
	}
	conn, _, err := d.DialContext(ctx, u, nil)
	if err != nil {
		return err
	}
	return conn.Close()
}
