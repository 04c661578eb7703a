package hub

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Frames written by hand (appendFrameHeader and their payload) read back
// through gorilla: single frames of each length encoding, and a message in
// three fragments (text, continuation, final continuation).
func TestFrameHeaderReadsBack(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 1000, 0xFFFF, 0x10000, 300_000}
	fragments := []int{1000, 70_000, 3}
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		var out []byte
		for _, n := range sizes {
			out = appendFrameHeader(out, true, websocket.TextMessage, n)
			out = append(out, payload(n)...)
		}
		for i, n := range fragments {
			opcode := byte(websocket.TextMessage)
			if i > 0 {
				opcode = 0
			}
			out = appendFrameHeader(out, i == len(fragments)-1, opcode, n)
			out = append(out, payload(n)...)
		}
		if _, err := ws.NetConn().Write(out); err != nil {
			return
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
	want := append(slices.Clone(sizes), 1000+70_000+3)
	for _, n := range want {
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
			if err := c.writeBuffers(bufs, make([]syscall.Iovec, len(bufs)), n, time.Now().Add(10*time.Second)); err != nil {
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

// writev writes everything, in order, through a socket whose send buffer
// is far smaller than the data: it waits for room and resumes after
// partial writes.
func TestWritevWaitsForRoom(t *testing.T) {
	server, client := tcpPair(t)
	if err := server.SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	var bufs [][]byte
	var want []byte
	for i := range 300 {
		p := bytes.Repeat([]byte{byte('a' + i%26)}, 1000+i)
		bufs = append(bufs, p)
		want = append(want, p...)
	}
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, len(want))
		_ = client.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, _ := io.ReadFull(client, b)
		got <- b[:n]
	}()
	_ = server.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if err := writev(server, bufs, make([]syscall.Iovec, len(bufs))); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Errorf("got %d bytes, want %d in order", len(b), len(want))
	}
}
