package hub

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
	"unsafe"
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

// maxCorked bounds the bytes a writer gathers from its queue before it
// flushes and looks at its marks again (pings, resync requests, shutdown).
const maxCorked = 64 << 10

// corkSize is the size of a cork buffer; a batch larger than that goes out
// in several writes of about this size (about ten deltas each). A writer
// whose display reads slowly parks in its write holding its buffer, so
// this is also what each stalled display costs: with 16 KiB buffers the
// agent's heap grew to 40 MB in a burst of 500 to 1000 displays, with 4 KiB
// it stayed at 28 MB. Buffers that grew with the batch (appending) allocated
// 112 MB in that burst.
const corkSize = 4 << 10

// corkPool recycles cork buffers: a display holds one only while it writes
// a batch, so 1000 displays share a few.
var corkPool = sync.Pool{New: func() any { b := make([]byte, 0, corkSize); return &b }}

// corkConn is a net.Conn whose writes can be held back and sent together.
// It is used by one writer at a time (gorilla's write lock, and cork.go's
// rule that only the display's writer writes once it is live).
type corkConn struct {
	net.Conn
	corked   bool
	buf      *[]byte
	batched  int       // bytes written since cork
	deadline time.Time // the last write deadline set while corked
	// applied is the write deadline set on the socket; a later one closer
	// to it than deadlineStep is not set (setDeadline).
	applied      time.Time
	deadlineStep time.Duration
}

// setDeadline sets t as the socket's write deadline, unless t is later
// than the deadline already set by less than c.deadlineStep. Every frame
// comes with a deadline of now + WriteWait, and setting it is a runtime
// timer update: at 50 changes/s each display's writer did one per frame,
// on the path of every change. With the step at a tenth of WriteWait
// (corkWriter, from Hub.ServeHTTP), the socket's deadline moves at most ten times per
// WriteWait, and a write that blocks still gets at least nine tenths of
// WriteWait before it fails. An earlier deadline (a shutdown's) is always
// set.
func (c *corkConn) setDeadline(conn net.Conn, t time.Time) error {
	if !t.Before(c.applied) && t.Sub(c.applied) < c.deadlineStep {
		return nil
	}
	c.applied = t
	return conn.SetWriteDeadline(t)
}

// NetConn returns the wrapped connection (for tcpConn).
func (c *corkConn) NetConn() net.Conn { return c.Conn }

// cork holds writes back until flush.
func (c *corkConn) cork() {
	c.corked = true
	c.batched = 0
}

// held reports how many bytes were written since cork.
func (c *corkConn) held() int { return c.batched }

func (c *corkConn) Write(p []byte) (int, error) {
	if !c.corked {
		return c.Conn.Write(p)
	}
	c.batched += len(p)
	if c.buf == nil {
		c.buf = corkPool.Get().(*[]byte)
	}
	if len(*c.buf)+len(p) > cap(*c.buf) {
		if err := c.send(); err != nil {
			return 0, err
		}
		if len(p) > cap(*c.buf) {
			return c.Conn.Write(p)
		}
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// send writes what is held back, staying corked.
func (c *corkConn) send() error {
	if c.buf == nil || len(*c.buf) == 0 {
		return nil
	}
	if !c.deadline.IsZero() {
		if err := c.setDeadline(c.Conn, c.deadline); err != nil {
			return err
		}
		c.deadline = time.Time{}
	}
	_, err := c.Conn.Write(*c.buf)
	*c.buf = (*c.buf)[:0]
	return err
}

// writeBuffers writes bufs[1:] (n bytes in all) after the bytes held back,
// with deadline; bufs[0] must be nil (the held bytes are put there), iov
// as long as bufs (writev's scratch space). Corked
// over a bare TCP socket (rawTCP), pieces that do not fit in the cork
// buffer go out with the held bytes in one writev, nothing copied; else
// they are written as Write does.
func (c *corkConn) writeBuffers(bufs net.Buffers, iov []syscall.Iovec, n int, deadline time.Time) error {
	if err := c.SetWriteDeadline(deadline); err != nil {
		return err
	}
	room := corkSize
	if c.buf != nil {
		room = cap(*c.buf) - len(*c.buf)
	}
	tc := rawTCP(c.Conn)
	if !c.corked || tc == nil || n <= room {
		for _, b := range bufs[1:] {
			if _, err := c.Write(b); err != nil {
				return err
			}
		}
		return nil
	}
	c.batched += n
	if !c.deadline.IsZero() {
		if err := c.setDeadline(tc, c.deadline); err != nil {
			return err
		}
		c.deadline = time.Time{}
	}
	if c.buf != nil {
		bufs[0] = *c.buf
		*c.buf = (*c.buf)[:0]
	}
	return writev(tc, bufs, iov)
}

// writev writes all of bufs to tc with writev(2), waiting for room as the
// runtime's poller says, until tc's write deadline. iov is the system
// call's scratch space, as long as bufs. net.Buffers' WriteTo would do the
// same, but the runtime keeps, for the life of each socket, the largest
// iovec array it ever wrote with (2.2 MB of the heap after a burst to 1000
// displays), and x/sys/unix.Writev allocates one per call (40 MB in that
// burst).
func writev(tc *net.TCPConn, bufs [][]byte, iov []syscall.Iovec) error {
	rc, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for {
			v := iov[:0]
			for _, b := range bufs {
				if len(b) > 0 {
					e := syscall.Iovec{Base: &b[0]}
					e.SetLen(len(b))
					v = append(v, e)
				}
			}
			if len(v) == 0 {
				return true
			}
			r, _, errno := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&v[0])), uintptr(len(v)))
			switch errno {
			case 0:
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait until the socket has room
			default:
				werr = &net.OpError{Op: "writev", Net: "tcp", Source: tc.LocalAddr(), Addr: tc.RemoteAddr(), Err: errno}
				return true
			}
			for n := int(r); n > 0 && len(bufs) > 0; {
				if len(bufs[0]) > n {
					bufs[0] = bufs[0][n:]
					break
				}
				n -= len(bufs[0])
				bufs = bufs[1:]
			}
		}
	})
	clear(iov)
	if err != nil {
		return err
	}
	return werr
}

// writeMessage writes a frame, header and payload, with deadline: into
// the cork when corked, else in one write (through the cork's buffer when
// they fit in it).
func (c *corkConn) writeMessage(header, payload []byte, deadline time.Time) error {
	corked := c.corked
	if !corked {
		c.cork()
	}
	_ = c.SetWriteDeadline(deadline)
	_, err := c.Write(header)
	if err == nil {
		_, err = c.Write(payload)
	}
	if !corked {
		if ferr := c.flush(); err == nil {
			err = ferr
		}
	}
	return err
}

// SetWriteDeadline is deferred to the flush while corked: gorilla sets one
// before every frame, a system call each.
func (c *corkConn) SetWriteDeadline(t time.Time) error {
	if c.corked {
		c.deadline = t
		return nil
	}
	return c.setDeadline(c.Conn, t)
}

// flush sends what was held back and uncorks.
func (c *corkConn) flush() error {
	err := c.send()
	c.corked = false
	if c.buf != nil {
		*c.buf = (*c.buf)[:0]
		corkPool.Put(c.buf)
		c.buf = nil
	}
	return err
}

// corkWriter hands gorilla's Upgrader a corkConn in place of the hijacked
// connection.
type corkWriter struct {
	http.ResponseWriter
	deadlineStep time.Duration // for the corkConn (setDeadline)
	conn         *corkConn
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
	w.conn = &corkConn{Conn: nc, deadlineStep: w.deadlineStep}
	return w.conn, brw, nil
}

func (w *corkWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
