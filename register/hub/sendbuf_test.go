package hub

import (
	"crypto/tls"
	"net"
	"syscall"
	"testing"
)

// The send-buffer cap reaches the TCP socket beneath TLS (it used to apply
// to plain *net.TCPConn only, and a stalled TLS display's buffer grew to
// 3.9 MB).
func TestCapSendBufferBeneathTLS(t *testing.T) {
	server, client := tcpPair(t)
	const capBytes = 64 << 10
	for _, tc := range []struct {
		name string
		conn net.Conn
	}{
		{"tls", tls.Server(server, &tls.Config{})},
		{"plain", client},
	} {
		capSendBuffer(tc.conn, capBytes)
		raw := server
		if tc.name == "plain" {
			raw = client
		}
		if got := sndbuf(t, raw); got != 2*capBytes { // Linux doubles what it is given
			t.Errorf("%s: SO_SNDBUF = %d, want %d", tc.name, got, 2*capBytes)
		}
	}
}

func sndbuf(t *testing.T, c *net.TCPConn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var serr error
	if err := rc.Control(func(fd uintptr) { n, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF) }); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	return n
}
