// Package clienttest is a scripted stand-in for the agent's display
// endpoint, for testing display clients over real loopback WebSockets. A
// test accepts each display connection, reads its hello and resyncs, and
// sends exactly the messages it wants (good, out of order or hostile).
//
// It is a test helper: it must not be imported by production code, and it
// implements no stream history or fan-out of its own.
package clienttest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// Server accepts display connections on 127.0.0.1.
type Server struct {
	// URL is the display endpoint, ws://127.0.0.1:PORT/v1/display (wss for
	// NewTLSServer).
	URL string

	srv         *httptest.Server
	conns       chan *Conn
	ignorePings atomic.Bool

	mu     sync.Mutex
	all    []*Conn
	closed bool
}

// Cleaner is the part of testing.TB the server needs.
type Cleaner interface{ Cleanup(func()) }

// NewServer starts a plain WebSocket server; tb's Cleanup closes it.
func NewServer(tb Cleaner) *Server { return start(tb, false, nil) }

// NewTLSServer starts a wss server with httptest's self-signed certificate;
// see TLSConfig.
func NewTLSServer(tb Cleaner) *Server { return start(tb, true, nil) }

// NewTLSServerWith starts a wss server with cfg, e.g. an agent identity's
// ServerConfig from register/tlsid. TLSConfig does not apply to it.
func NewTLSServerWith(tb Cleaner, cfg *tls.Config) *Server { return start(tb, true, cfg) }

func start(tb Cleaner, useTLS bool, cfg *tls.Config) *Server {
	s := &Server{conns: make(chan *Conn, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/display", s.serve)
	s.srv = httptest.NewUnstartedServer(mux)
	if useTLS {
		s.srv.TLS = cfg
		s.srv.StartTLS()
		s.URL = "wss" + s.srv.URL[len("https"):] + "/v1/display"
	} else {
		s.srv.Start()
		s.URL = "ws" + s.srv.URL[len("http"):] + "/v1/display"
	}
	tb.Cleanup(s.Close)
	return s
}

// TLSConfig returns a client configuration trusting the server's
// certificate (only for NewTLSServer).
func (s *Server) TLSConfig() *tls.Config {
	return s.srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
}

// IgnorePings makes connections accepted from now on leave pings
// unanswered, like a hung agent.
func (s *Server) IgnorePings(v bool) { s.ignorePings.Store(v) }

var upgrader = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 4096, Subprotocols: []string{protocol.DisplaySubprotocol}}

func (s *Server) serve(w http.ResponseWriter, req *http.Request) {
	up, _, _ := protocol.ParseDisplayUpgrade(websocket.Subprotocols(req), req.URL.Query())
	ws, err := upgrader.Upgrade(w, req, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(64 << 10)
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		ws.Close()
		return
	}
	m, perr := protocol.DecodeDisplay(data)
	if perr != nil || m.Type != protocol.TypeHello {
		ws.Close()
		return
	}
	_ = ws.SetReadDeadline(time.Time{})
	c := &Conn{Hello: m.Hello, Upgrade: up, ws: ws, msgs: make(chan protocol.DisplayMessage, 64), done: make(chan struct{}), pinged: make(chan struct{})}
	answer := ws.PingHandler()
	if s.ignorePings.Load() {
		answer = func(string) error { return nil }
	}
	ws.SetPingHandler(func(data string) error {
		c.countPing()
		return answer(data)
	})
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.Close()
		return
	}
	s.all = append(s.all, c)
	s.mu.Unlock()
	go c.read()
	select {
	case s.conns <- c:
	default:
		c.Drop() // nobody is accepting: too many connections
	}
}

// Accept returns the next display connection whose hello was read.
func (s *Server) Accept(ctx context.Context) (*Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("accept: %w", ctx.Err())
	}
}

// Close drops every connection, stops the server and waits for the
// connections' goroutines. It is safe to call twice.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	all := s.all
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
	for _, c := range all {
		c.Drop()
	}
}

// Conn is one display connection.
type Conn struct {
	// Hello is the display's first message.
	Hello protocol.Hello
	// Upgrade is the register and token the display presented in its
	// upgrade request (empty if none).
	Upgrade protocol.DisplayUpgrade

	ws   *websocket.Conn
	msgs chan protocol.DisplayMessage
	done chan struct{}
	err  error // set before done is closed
	wmu  sync.Mutex

	pmu    sync.Mutex
	pings  int           // pings received
	pinged chan struct{} // closed and replaced on every ping
}

func (c *Conn) countPing() {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.pings++
	close(c.pinged)
	c.pinged = make(chan struct{})
}

// WaitPings blocks until the display has sent n pings in all on this
// connection (answered unless IgnorePings), or the connection ends, or ctx
// is done.
func (c *Conn) WaitPings(ctx context.Context, n int) error {
	for {
		c.pmu.Lock()
		got, pinged := c.pings, c.pinged
		c.pmu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-pinged:
		case <-c.done:
			return fmt.Errorf("display gone after %d of %d pings: %w", got, n, c.err)
		case <-ctx.Done():
			return fmt.Errorf("%d of %d pings: %w", got, n, ctx.Err())
		}
	}
}

func (c *Conn) read() {
	defer close(c.done)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.err = err
			return
		}
		m, perr := protocol.DecodeDisplay(data)
		if perr != nil {
			m = protocol.DisplayMessage{Type: "invalid:" + perr.Code}
		}
		select {
		case c.msgs <- m:
		default: // the test is not reading; a display sends little
		}
	}
}

// Next returns the next message the display sent after its hello.
func (c *Conn) Next(ctx context.Context) (protocol.DisplayMessage, error) {
	select {
	case m := <-c.msgs:
		return m, nil
	case <-c.done:
		select {
		case m := <-c.msgs:
			return m, nil
		default:
		}
		return protocol.DisplayMessage{}, fmt.Errorf("display gone: %w", c.err)
	case <-ctx.Done():
		return protocol.DisplayMessage{}, ctx.Err()
	}
}

// Done is closed when the display's side of the connection ended; Err
// then says how (a *websocket.CloseError for a close frame).
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is the read error that ended the connection, once Done is closed.
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// SendRaw sends one text message as is.
func (c *Conn) SendRaw(data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, data)
}

// Send sends v as JSON.
func (c *Conn) Send(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.SendRaw(data)
}

// Welcome sends the welcome for the display's register at p.
func (c *Conn) Welcome(p protocol.Position) error {
	return c.Send(protocol.Welcome{Type: protocol.TypeWelcome, Protocol: protocol.Version, Agent: "clienttest", Register: c.Hello.Register, Position: p})
}

// Snapshot sends a snapshot of k at p.
func (c *Conn) Snapshot(p protocol.Position, k cart.Cart) error {
	return c.Send(protocol.Snapshot{Type: protocol.TypeSnapshot, Position: p, Cart: k})
}

// Delta sends ops at p.
func (c *Conn) Delta(p protocol.Position, ops []cart.Op) error {
	return c.Send(protocol.Delta{Type: protocol.TypeDelta, Position: p, Ops: ops})
}

// Resumed accepts the display's resume position p.
func (c *Conn) Resumed(p protocol.Position) error {
	return c.Send(protocol.Resumed{Type: protocol.TypeResumed, Position: p})
}

// Reject sends an error with code and closes the connection with a close
// frame, as the agent does for a bad token or an unknown register.
func (c *Conn) Reject(code, msg string) error {
	err := c.Send(protocol.NewError(nil, code, "", msg))
	c.wmu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, code), time.Now().Add(time.Second))
	c.wmu.Unlock()
	return err
}

// Drop closes the socket without a close frame, like a crashed agent or a
// pulled cable, and waits for the reader goroutine. It is safe to call
// twice.
func (c *Conn) Drop() {
	c.ws.Close()
	<-c.done
}
