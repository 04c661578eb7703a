package hub

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"
)

// Writes batched per display. Profiled under a burst of 500 changes to 1000
// displays, 55% of the agent's CPU was write(2): gorilla/websocket writes
// each message with its own system call (and, under TLS, its own record),
// and a writer that fell behind by 20 frames made 20 of them. A display's
// writer corks its socket, writes every frame that is ready through
// gorilla (which still does all the framing), and flushes them with one
// write.
//
// Only the display's writer goroutine writes once the display is live: the
// reader's ping and close handlers hand their answers to it (conn.go), so
// nothing else can slip between two corked frames.

// maxCorked bounds the bytes a writer gathers before it flushes: the
// display's kernel send buffer (SendBuffer, 64 KiB) takes no more at once
// anyway, and a cork that grew with the backlog would hold megabytes per
// display.
const maxCorked = 64 << 10

// corkPool recycles cork buffers: a display holds one only while it flushes
// a batch, so 1000 displays share a few.
var corkPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// corkConn is a net.Conn whose writes can be held back and sent together.
type corkConn struct {
	net.Conn
	corked   bool
	buf      *[]byte
	deadline time.Time // the last write deadline set while corked
}

// NetConn returns the wrapped connection (for tcpConn).
func (c *corkConn) NetConn() net.Conn { return c.Conn }

// cork holds writes back until flush.
func (c *corkConn) cork() { c.corked = true }

// held reports how many bytes wait for flush.
func (c *corkConn) held() int {
	if c.buf == nil {
		return 0
	}
	return len(*c.buf)
}

func (c *corkConn) Write(p []byte) (int, error) {
	if !c.corked {
		return c.Conn.Write(p)
	}
	if c.buf == nil {
		c.buf = corkPool.Get().(*[]byte)
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// SetWriteDeadline is deferred to the flush while corked: gorilla sets one
// before every frame, a system call each.
func (c *corkConn) SetWriteDeadline(t time.Time) error {
	if c.corked {
		c.deadline = t
		return nil
	}
	return c.Conn.SetWriteDeadline(t)
}

// flush sends what was held back in one write and uncorks.
func (c *corkConn) flush() error {
	c.corked = false
	if c.buf == nil {
		return nil
	}
	b := c.buf
	c.buf = nil
	var err error
	if len(*b) > 0 {
		if !c.deadline.IsZero() {
			err = c.Conn.SetWriteDeadline(c.deadline)
		}
		if err == nil {
			_, err = c.Conn.Write(*b)
		}
	}
	if cap(*b) <= maxCorked*2 {
		*b = (*b)[:0]
		corkPool.Put(b)
	}
	return err
}

// corkWriter hands gorilla's Upgrader a corkConn in place of the hijacked
// connection.
type corkWriter struct {
	http.ResponseWriter
	conn *corkConn
}

func (w *corkWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	nc, brw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &corkConn{Conn: nc}
	return w.conn, brw, nil
}

func (w *corkWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
