package hub

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// A batch frame written by hand (appendTextHeader and its payload) reads
// back through gorilla as one message, for each length encoding.
func TestTextHeaderReadsBack(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 1000, 0xFFFF, 0x10000, 300_000}
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for _, n := range sizes {
			frame := appendTextHeader(nil, n)
			frame = append(frame, payload(n)...)
			if _, err := ws.NetConn().Write(frame); err != nil {
				return
			}
		}
		_, _, _ = ws.ReadMessage() // until the client closes
	}))
	t.Cleanup(srv.Close)
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.SetReadLimit(1 << 20)
	for _, n := range sizes {
		_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		typ, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("message of %d bytes: %v", n, err)
		}
		if typ != websocket.TextMessage || !bytes.Equal(data, payload(n)) {
			t.Errorf("message of %d bytes: got type %d, %d bytes", n, typ, len(data))
		}
	}
}

func payload(n int) []byte { return bytes.Repeat([]byte("x"), n) }

// writeBuffers sends the held bytes and then the pieces, in order: over a
// bare TCP socket in one writev when they do not fit in the cork buffer
// (nothing is left held), otherwise copied through the buffer as Write.
func TestCorkWriteBuffers(t *testing.T) {
	tests := []struct {
		name   string
		pieces []int
		tcp    bool
		// wantHeld: bytes still in the cork buffer after writeBuffers.
		wantHeld int
	}{
		{"small over tcp: copied", []int{100, 1, 200}, true, 10 + 301},
		{"large over tcp: writev", []int{3000, 1, 3000, 1, 3000}, true, 0},
		// The buffer is sent whenever the next piece does not fit: the
		// last 3000 stay.
		{"large over another conn: copied", []int{3000, 1, 3000, 1, 3000}, false, 3000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, client := tcpPair(t)
			var under net.Conn = server
			if !tt.tcp {
				under = struct{ net.Conn }{server} // hides *net.TCPConn, as tls.Conn does
			}
			c := &corkConn{Conn: under}
			c.cork()
			held := bytes.Repeat([]byte("h"), 10)
			want := bytes.Clone(held)
			if _, err := c.Write(held); err != nil {
				t.Fatal(err)
			}
			bufs := net.Buffers{nil}
			n := 0
			for i, size := range tt.pieces {
				p := bytes.Repeat([]byte{byte('a' + i)}, size)
				bufs = append(bufs, p)
				want = append(want, p...)
				n += size
			}
			if err := c.writeBuffers(bufs, n, time.Now().Add(10*time.Second)); err != nil {
				t.Fatal(err)
			}
			if got := c.held(); got != 10+n {
				t.Errorf("held(): got %d, want %d (every byte since cork)", got, 10+n)
			}
			if got := len(*c.buf); got != tt.wantHeld {
				t.Errorf("cork buffer: got %d bytes, want %d", got, tt.wantHeld)
			}
			tail := []byte("tail")
			want = append(want, tail...)
			if _, err := c.Write(tail); err != nil {
				t.Fatal(err)
			}
			if err := c.flush(); err != nil {
				t.Fatal(err)
			}
			_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
			got := make([]byte, len(want))
			if _, err := io.ReadFull(client, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("bytes: got %s, want %s", summary(got), summary(want))
			}
		})
	}
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc := <-accepted
	if sc == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { sc.Close(); cc.Close() })
	return sc.(*net.TCPConn), cc.(*net.TCPConn)
}

// summary describes b as runs of equal bytes, for failure messages.
func summary(b []byte) string {
	var s strings.Builder
	for len(b) > 0 {
		n := 1
		for n < len(b) && b[n] == b[0] {
			n++
		}
		fmt.Fprintf(&s, "%c×%d ", b[0], n)
		b = b[n:]
	}
	return s.String()
}
