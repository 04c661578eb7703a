package hub

import "net"

// tcpConn finds the TCP connection under c, through wrappers that expose
// what they wrap (tls.Conn, the agent's connection-counting listener), or
// returns nil.
func tcpConn(c net.Conn) *net.TCPConn {
	for range 8 { // wrappers nest a level or two; never loop forever
		switch v := c.(type) {
		case *net.TCPConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}
