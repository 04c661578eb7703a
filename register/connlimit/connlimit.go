// Package connlimit bounds the connections one listener may hold, so that a
// flood on one port (the display listener faces the store network) cannot
// use up the process's file descriptors and starve another (the loopback
// POS listener and its admin endpoint).
//
// A Listener counts every accepted connection until it is closed, WebSockets
// hijacked from net/http included. At the limit it makes room by closing the
// HTTP connection that has waited longest without a request in flight (an
// idle keep-alive connection, or one that has not finished its headers):
// clients must expect a server to close an idle connection, and a flood of
// them then costs the attacker its oldest sockets instead of costing real
// displays their connection. Only when nothing can be shed is the new
// connection closed at once. Listener never blocks Accept.
//
// It can also bound the idle keep-alive connections of each source address
// (MaxIdlePerHost): an idle HTTP connection on a TLS listener costs about
// 40 KB (buffers, a goroutine), and 2000 of them from one host held 80 MB.
//
// The package owns counting and shedding; it does not know about
// WebSockets, tokens or addresses (the hub caps unauthenticated sockets per
// source address).
package connlimit

import (
	"container/list"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// Listener is a net.Listener that holds at most Max connections. Wire its
// ConnState into the http.Server that serves it, so that it knows which
// connections are idle.
type Listener struct {
	net.Listener
	max int
	// MaxIdlePerHost, when above 0, bounds the idle keep-alive connections
	// of one remote IP address: a connection going idle beyond it closes
	// that address's oldest idle one. Set it before serving.
	MaxIdlePerHost int

	mu   sync.Mutex
	open int
	// shed holds connections with no request in flight, oldest first
	// (net/http's StateNew and StateIdle).
	shed *list.List
	// idle holds each host's idle connections, oldest first (only with
	// MaxIdlePerHost).
	idle map[string]*list.List

	// Shed and Refused count connections closed to make room, and
	// connections closed at once because nothing could be shed;
	// IdleClosed counts idle connections closed over MaxIdlePerHost.
	Shed, Refused, IdleClosed atomic.Int64
}

// New wraps ln so that it holds at most max connections (max >= 1).
func New(ln net.Listener, max int) *Listener {
	return &Listener{Listener: ln, max: max, shed: list.New(), idle: map[string]*list.List{}}
}

// Max is the connection limit.
func (l *Listener) Max() int { return l.max }

// Open is the number of connections held now.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Accept waits for a connection and returns it, after shedding another one
// if the listener is at its limit.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		var victim *conn
		if l.open >= l.max {
			if e := l.shed.Front(); e != nil {
				victim = e.Value.(*conn)
				l.untrack(victim)
			}
		}
		if l.open >= l.max && victim == nil {
			l.mu.Unlock()
			l.Refused.Add(1)
			_ = c.Close()
			continue
		}
		l.open++
		l.mu.Unlock()
		if victim != nil {
			l.Shed.Add(1)
			_ = victim.Close() // its counted Close frees its slot
		}
		return &conn{Conn: c, l: l, host: hostOf(c.RemoteAddr())}, nil
	}
}

// ConnState is an http.Server ConnState hook: it marks connections that
// have no request in flight as sheddable, and applies MaxIdlePerHost.
func (l *Listener) ConnState(c net.Conn, s http.ConnState) {
	inner := unwrap(c)
	if inner == nil {
		return
	}
	var victim *conn
	l.mu.Lock()
	l.untrack(inner)
	if (s == http.StateNew || s == http.StateIdle) && !inner.closed {
		inner.shedElem = l.shed.PushBack(inner)
		if s == http.StateIdle && l.MaxIdlePerHost > 0 {
			hl := l.idle[inner.host]
			if hl == nil {
				hl = list.New()
				l.idle[inner.host] = hl
			}
			inner.idleElem = hl.PushBack(inner)
			if hl.Len() > l.MaxIdlePerHost {
				victim = hl.Front().Value.(*conn)
				l.untrack(victim)
			}
		}
	}
	l.mu.Unlock()
	if victim != nil {
		l.IdleClosed.Add(1)
		_ = victim.Close()
	}
}

// untrack forgets c as sheddable and idle. Callers hold l.mu.
func (l *Listener) untrack(c *conn) {
	if c.shedElem != nil {
		l.shed.Remove(c.shedElem)
		c.shedElem = nil
	}
	if c.idleElem != nil {
		hl := l.idle[c.host]
		hl.Remove(c.idleElem)
		if hl.Len() == 0 {
			delete(l.idle, c.host)
		}
		c.idleElem = nil
	}
}

func hostOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// unwrap returns the *conn under c (c itself, or under a *tls.Conn).
func unwrap(c net.Conn) *conn {
	for range 8 {
		switch v := c.(type) {
		case *conn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}

// conn frees its slot once, on its first Close.
type conn struct {
	net.Conn
	l    *Listener
	host string
	once sync.Once
	// Guarded by l.mu:
	closed             bool
	shedElem, idleElem *list.Element
}

// NetConn returns the accepted connection, for callers that tune its
// socket (such as its send buffer), as tls.Conn's NetConn does.
func (c *conn) NetConn() net.Conn { return c.Conn }

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		defer c.l.mu.Unlock()
		c.l.open--
		c.closed = true
		c.l.untrack(c)
	})
	return err
}
