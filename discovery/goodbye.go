package discovery

import (
	"errors"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// goodbyeListener watches mDNS responses for goodbye records (TTL 0) of
// our service type. The zeroconf resolver drops goodbyes silently; without
// this a withdrawn register would only time out.
type goodbyeListener struct {
	conns []*net.UDPConn
	wg    sync.WaitGroup
	done  chan struct{} // closed by Close: pending sends give up
	key   string        // interface set it listens on
}

var (
	mdnsGroup4 = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}
	mdnsGroup6 = &net.UDPAddr{IP: net.ParseIP("ff02::fb"), Port: 5353}
)

// listenGoodbyes joins the mDNS groups on ifaces and sends the instance
// name of every goodbye for ServiceType to out until closed. Sends to out
// give up when ctxDone or the listener is closed.
func listenGoodbyes(ifaces []net.Interface, out chan<- string, ctxDone <-chan struct{}) (*goodbyeListener, error) {
	g := &goodbyeListener{key: strings.Join(names(ifaces), ","), done: make(chan struct{})}
	var errs []error
	for _, ifi := range ifaces {
		for _, fam := range []struct {
			network string
			group   *net.UDPAddr
		}{{"udp4", mdnsGroup4}, {"udp6", mdnsGroup6}} {
			c, err := net.ListenMulticastUDP(fam.network, &ifi, fam.group)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			g.conns = append(g.conns, c)
		}
	}
	if len(g.conns) == 0 {
		return nil, errors.Join(errs...)
	}
	suffix := "." + ServiceType + "." + Domain
	for _, c := range g.conns {
		g.wg.Go(func() {
			buf := make([]byte, 9000)
			for {
				n, _, err := c.ReadFrom(buf)
				if err != nil {
					return // closed
				}
				for _, inst := range goodbyes(buf[:n], suffix) {
					select {
					case out <- inst:
					case <-g.done:
						return
					case <-ctxDone:
						return
					}
				}
			}
		})
	}
	return g, nil
}

// goodbyes returns the instance names (escaped, as zeroconf reports them)
// withdrawn by a packet: PTR records of our service type and SRV records of
// its instances with TTL 0. Malformed packets yield nothing.
func goodbyes(pkt []byte, suffix string) []string {
	var m dns.Msg
	if m.Unpack(pkt) != nil || !m.Response {
		return nil
	}
	var out []string
	add := func(name string) {
		if len(name) <= len(suffix) || !strings.EqualFold(name[len(name)-len(suffix):], suffix) {
			return
		}
		inst := name[:len(name)-len(suffix)]
		if !slices.Contains(out, inst) {
			out = append(out, inst)
		}
	}
	for _, rr := range slices.Concat(m.Answer, m.Extra) {
		if rr.Header().Ttl != 0 {
			continue
		}
		switch rr := rr.(type) {
		case *dns.PTR:
			if strings.EqualFold(rr.Hdr.Name, suffix[1:]) {
				add(rr.Ptr)
			}
		case *dns.SRV:
			add(rr.Hdr.Name)
		}
	}
	return out
}

func (g *goodbyeListener) Close() {
	if g == nil {
		return
	}
	close(g.done)
	for _, c := range g.conns {
		c.Close()
	}
	g.wg.Wait()
}
