package hub

import (
	"crypto/tls"
	"net"
)

// tcpConn finds the TCP connection under c, through wrappers that expose
// what they wrap (tls.Conn, the agent's connection-counting listener), or
// returns nil.
func tcpConn(c net.Conn) *net.TCPConn { return underTCP(c, true) }

// rawTCP is tcpConn for writing: the TCP connection under c when nothing
// between them transforms the bytes, or nil. A tls.Conn does (its bytes
// must be sealed); the wrappers that expose what they wrap here (the
// agent's connection-counting listener) only watch Close.
func rawTCP(c net.Conn) *net.TCPConn { return underTCP(c, false) }

// underTCP unwraps c down to its TCP connection; through a tls.Conn only
// when throughTLS.
func underTCP(c net.Conn, throughTLS bool) *net.TCPConn {
	for range 8 { // wrappers nest a level or two; never loop forever
		switch v := c.(type) {
		case *net.TCPConn:
			return v
		case *tls.Conn:
			if !throughTLS {
				return nil
			}
			c = v.NetConn()
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}
