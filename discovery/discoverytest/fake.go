// Package discoverytest offers test doubles and test helpers for code that
// uses package discovery:
//
//   - Network, an in-memory stand-in for the local network, whose
//     Advertiser and Browser implement discovery.Advertiser and
//     discovery.Browser without sending a packet;
//   - InNetNS, Veth, StartRole: helpers to run real multicast DNS tests
//     inside private network namespaces (Linux, root or user namespaces);
//   - VerifyNoLeaks, a goroutine leak check patient enough for zeroconf.
//
// It must not be imported by non-test code.
package discoverytest

import (
	"context"
	"net/netip"
	"slices"
	"sync"

	"github.com/posdisplay/posdisplay/discovery"
)

// Network is an in-memory network on which fake advertisers announce and
// fake browsers listen. Events are delivered in order, without loss.
type Network struct {
	mu          sync.Mutex
	services    map[string]discovery.Service // by instance
	subs        map[*subscriber]struct{}
	partitioned bool
}

// NewNetwork returns an empty network.
func NewNetwork() *Network {
	return &Network{services: map[string]discovery.Service{}, subs: map[*subscriber]struct{}{}}
}

type subscriber struct {
	mu     sync.Mutex
	queue  []discovery.Event
	signal chan struct{}
}

func (s *subscriber) push(ev discovery.Event) {
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

func (s *subscriber) pop() []discovery.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}

func (n *Network) broadcastLocked(ev discovery.Event) {
	if n.partitioned {
		return
	}
	for s := range n.subs {
		s.push(ev)
	}
}

// Publish makes svc visible (added, or updated when its instance is
// already there). Tests use it to inject hand-made or rogue services.
func (n *Network) Publish(svc discovery.Service) {
	n.mu.Lock()
	defer n.mu.Unlock()
	old, ok := n.services[svc.Instance]
	n.services[svc.Instance] = svc
	switch {
	case !ok:
		n.broadcastLocked(discovery.Event{Kind: discovery.EventAdded, Service: svc})
	case !old.Equal(svc):
		n.broadcastLocked(discovery.Event{Kind: discovery.EventUpdated, Service: svc})
	}
}

// Withdraw removes the service with that instance name.
func (n *Network) Withdraw(instance string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	svc, ok := n.services[instance]
	if !ok {
		return
	}
	delete(n.services, instance)
	n.broadcastLocked(discovery.Event{Kind: discovery.EventRemoved, Service: svc})
}

// SetPartitioned cuts browsers off from every service (they see all
// removed) or reconnects them (they see all added again).
func (n *Network) SetPartitioned(cut bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.partitioned == cut {
		return
	}
	kind := discovery.EventAdded
	if cut {
		kind = discovery.EventRemoved
	}
	n.partitioned = false
	for _, svc := range n.sortedLocked() {
		n.broadcastLocked(discovery.Event{Kind: kind, Service: svc})
	}
	n.partitioned = cut
}

func (n *Network) sortedLocked() []discovery.Service {
	out := make([]discovery.Service, 0, len(n.services))
	for _, s := range n.services {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b discovery.Service) int {
		switch {
		case a.Instance < b.Instance:
			return -1
		case a.Instance > b.Instance:
			return 1
		}
		return 0
	})
	return out
}

// Services returns what is currently published, sorted by instance.
func (n *Network) Services() []discovery.Service {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sortedLocked()
}

// Browser returns a discovery.Browser on this network.
func (n *Network) Browser() *Browser { return &Browser{n: n} }

// Browser is a fake discovery.Browser.
type Browser struct{ n *Network }

var _ discovery.Browser = (*Browser)(nil)

// Browse implements discovery.Browser: visible services first as added,
// then every change, until ctx is done.
func (b *Browser) Browse(ctx context.Context, fn func(discovery.Event)) error {
	sub := &subscriber{signal: make(chan struct{}, 1)}
	b.n.mu.Lock()
	if !b.n.partitioned {
		for _, svc := range b.n.sortedLocked() {
			sub.queue = append(sub.queue, discovery.Event{Kind: discovery.EventAdded, Service: svc})
		}
	}
	b.n.subs[sub] = struct{}{}
	b.n.mu.Unlock()
	defer func() {
		b.n.mu.Lock()
		delete(b.n.subs, sub)
		b.n.mu.Unlock()
	}()
	for {
		for _, ev := range sub.pop() {
			if ctx.Err() != nil {
				return nil
			}
			fn(ev)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-sub.signal:
		}
	}
}

// Advertiser returns a discovery.Advertiser on this network announcing
// host ("register1" becomes "register1.local.") with addrs.
func (n *Network) Advertiser(host string, addrs ...netip.Addr) *Advertiser {
	return &Advertiser{n: n, host: host + ".local.", addrs: slices.Clone(addrs)}
}

// Advertiser is a fake discovery.Advertiser.
type Advertiser struct {
	n     *Network
	mu    sync.Mutex
	host  string
	addrs []netip.Addr
	anns  []discovery.Announcement // while advertising
}

var _ discovery.Advertiser = (*Advertiser)(nil)

// Advertise implements discovery.Advertiser.
func (a *Advertiser) Advertise(ctx context.Context, anns []discovery.Announcement) error {
	for _, ann := range anns {
		if err := ann.Validate(); err != nil {
			return err
		}
	}
	a.mu.Lock()
	a.anns = slices.Clone(anns)
	a.publishLocked()
	a.mu.Unlock()
	<-ctx.Done()
	a.mu.Lock()
	for _, ann := range a.anns {
		a.n.Withdraw(ann.Instance())
	}
	a.anns = nil
	a.mu.Unlock()
	return nil
}

// SetAddrs changes the host's addresses; a running Advertise re-announces.
func (a *Advertiser) SetAddrs(addrs ...netip.Addr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.addrs = slices.Clone(addrs)
	a.publishLocked()
}

func (a *Advertiser) publishLocked() {
	addrs := slices.Clone(a.addrs)
	slices.SortFunc(addrs, netip.Addr.Compare)
	for _, ann := range a.anns {
		a.n.Publish(discovery.Service{Record: ann.Record, Instance: ann.Instance(), Host: a.host, Port: ann.Port, Addrs: addrs})
	}
}
