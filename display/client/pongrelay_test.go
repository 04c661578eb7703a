package client_test

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
)

// pongRelay stands between one display and the agent on loopback and
// counts the pong frames the agent sends (server frames are unmasked,
// RFC 6455 section 5.2), so that a test waits for pongs, not for time.
type pongRelay struct {
	addr  string
	mu    sync.Mutex
	pongs int
	more  chan struct{} // closed and replaced at each pong
	wg    sync.WaitGroup
}

func newPongRelay(t *testing.T, agentAddr string) *pongRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &pongRelay{addr: ln.Addr().String(), more: make(chan struct{})}
	var conns []net.Conn
	var connsMu sync.Mutex
	track := func(c net.Conn) {
		connsMu.Lock()
		conns = append(conns, c)
		connsMu.Unlock()
	}
	t.Cleanup(func() {
		ln.Close()
		connsMu.Lock()
		for _, c := range conns {
			c.Close()
		}
		connsMu.Unlock()
		r.wg.Wait()
	})
	r.wg.Go(func() {
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", agentAddr)
			if err != nil {
				down.Close()
				continue
			}
			track(down)
			track(up)
			r.wg.Go(func() { _, _ = io.Copy(up, down); up.Close() })
			r.wg.Go(func() { r.count(io.TeeReader(up, down)); down.Close() })
		}
	})
	return r
}

// count reads the agent's side: the HTTP upgrade answer, then frames.
func (r *pongRelay) count(src io.Reader) {
	br := bufio.NewReader(src)
	for { // the upgrade response ends with an empty line
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if line == "\r\n" {
			break
		}
	}
	var h [8]byte
	for {
		if _, err := io.ReadFull(br, h[:2]); err != nil {
			return
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			if _, err := io.ReadFull(br, h[:2]); err != nil {
				return
			}
			n = uint64(binary.BigEndian.Uint16(h[:2]))
		case 127:
			if _, err := io.ReadFull(br, h[:8]); err != nil {
				return
			}
			n = binary.BigEndian.Uint64(h[:8])
		}
		if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
			return
		}
		if h[0]&0x0f == 0xA { // pong
			r.mu.Lock()
			r.pongs++
			close(r.more)
			r.more = make(chan struct{})
			r.mu.Unlock()
		}
	}
}

// next returns the pongs so far and a channel closed at the next one.
func (r *pongRelay) next() (int, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pongs, r.more
}
