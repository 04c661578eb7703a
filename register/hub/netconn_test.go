package hub

import (
	"crypto/tls"
	"net"
	"testing"
)

// netConnWrapper stands for the agent's connection-counting listener: it
// exposes what it wraps.
type netConnWrapper struct{ net.Conn }

func (w netConnWrapper) NetConn() net.Conn { return w.Conn }

// The hub reaches the TCP socket through wrappers; writes bypass the
// wrappers only where no TLS seals the bytes.
func TestUnderTCP(t *testing.T) {
	_, tc := tcpPair(t)
	tlsConn := tls.Client(netConnWrapper{tc}, &tls.Config{InsecureSkipVerify: true})
	for _, tt := range []struct {
		name     string
		c        net.Conn
		tcp, raw *net.TCPConn
	}{
		{"bare", tc, tc, tc},
		{"wrapped", netConnWrapper{tc}, tc, tc},
		{"TLS", tlsConn, tc, nil},
		{"wrapped TLS", netConnWrapper{tlsConn}, tc, nil},
		{"pipe", netConnWrapper{pipeEnd(t)}, nil, nil},
	} {
		if got := tcpConn(tt.c); got != tt.tcp {
			t.Errorf("%s: tcpConn = %v, want %v", tt.name, got, tt.tcp)
		}
		if got := rawTCP(tt.c); got != tt.raw {
			t.Errorf("%s: rawTCP = %v, want %v", tt.name, got, tt.raw)
		}
	}
}

func pipeEnd(t *testing.T) net.Conn {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return a
}
