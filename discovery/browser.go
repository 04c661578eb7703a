package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/grandcat/zeroconf"
)

// Browser watches the local network for announced registers.
type Browser interface {
	// Browse reports registers appearing, changing and disappearing until
	// ctx is done, then returns nil. fn is called from a single goroutine
	// and must return quickly. Registers already visible are reported as
	// EventAdded first.
	Browse(ctx context.Context, fn func(Event)) error
}

// EventKind says what happened to a service.
type EventKind int

// Event kinds.
const (
	EventAdded EventKind = iota + 1 // first seen (or seen again after removal)
	// EventUpdated: address, port, host or TXT record changed, or the
	// register announced itself again after a goodbye this browser missed
	// (agent restart): the service may be unchanged, but a display that
	// lost its connection should reconnect now. (A restart whose goodbye
	// was seen shows as EventRemoved, then EventAdded.)
	EventUpdated
	EventRemoved // gone: not seen for a while, or withdrawn
)

func (k EventKind) String() string {
	switch k {
	case EventAdded:
		return "added"
	case EventUpdated:
		return "updated"
	case EventRemoved:
		return "removed"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event reports a change of one service.
type Event struct {
	Kind    EventKind
	Service Service // for EventRemoved: the last state seen
}

// Service is a register seen on the network. Everything in it comes from
// the network and is only a hint: trust is decided by the certificate pin.
type Service struct {
	Record                // decoded and validated TXT record
	Instance string       // DNS-SD instance name as received (escaped form)
	Host     string       // SRV target, e.g. "register1.local."
	Port     int          // SRV port
	Addrs    []netip.Addr // A/AAAA addresses, sorted, IPv4 first
}

// Endpoints returns "addr:port" endpoints to try, in the order of Addrs.
func (s Service) Endpoints() []netip.AddrPort {
	out := make([]netip.AddrPort, 0, len(s.Addrs))
	for _, a := range s.Addrs {
		out = append(out, netip.AddrPortFrom(a, uint16(s.Port)))
	}
	return out
}

// Equal reports whether two services carry the same information.
func (s Service) Equal(o Service) bool {
	return s.Record == o.Record && s.Instance == o.Instance && s.Host == o.Host &&
		s.Port == o.Port && slices.Equal(s.Addrs, o.Addrs)
}

// Limits on what a browser keeps from untrusted announcements.
const (
	maxServices    = 256 // far more registers than any store has
	maxAddrs       = 16
	maxHostLen     = 255
	maxInstanceLen = 255
)

// serviceFromEntry converts a browse result into a Service, validating
// everything; errors wrap ErrInvalidRecord or ErrUnsupportedVersion.
func serviceFromEntry(e *zeroconf.ServiceEntry) (Service, error) {
	if e == nil {
		return Service{}, fmt.Errorf("%w: nil entry", ErrInvalidRecord)
	}
	if e.Instance == "" || len(e.Instance) > maxInstanceLen {
		return Service{}, fmt.Errorf("%w: instance name of %d bytes", ErrInvalidRecord, len(e.Instance))
	}
	if e.HostName == "" || len(e.HostName) > maxHostLen {
		return Service{}, fmt.Errorf("%w: host name of %d bytes", ErrInvalidRecord, len(e.HostName))
	}
	if e.Port < 1 || e.Port > 65535 {
		return Service{}, fmt.Errorf("%w: port %d", ErrInvalidRecord, e.Port)
	}
	rec, err := decodeWireTXT(e.Text)
	if err != nil {
		return Service{}, err
	}
	var addrs []netip.Addr
	for _, ip := range append(slices.Clip(e.AddrIPv4), e.AddrIPv6...) {
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			continue
		}
		a = a.Unmap()
		if a.IsUnspecified() || a.IsMulticast() || (a.Is6() && a.IsLinkLocalUnicast()) || slices.Contains(addrs, a) {
			continue
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return Service{}, fmt.Errorf("%w: no usable address", ErrInvalidRecord)
	}
	slices.SortFunc(addrs, netip.Addr.Compare) // IPv4 sorts before IPv6
	if len(addrs) > maxAddrs {
		addrs = addrs[:maxAddrs]
	}
	return Service{Record: rec, Instance: e.Instance, Host: e.HostName, Port: e.Port, Addrs: addrs}, nil
}

// BrowserConfig configures an MDNSBrowser. The zero value works.
type BrowserConfig struct {
	// Interfaces restricts browsing to these interface names; default as
	// for AdvertiserConfig.
	Interfaces []string
	// Interval is how often a fresh query is sent. The zeroconf resolver
	// queries once and then backs off from 4 s to 60 s; a new query every
	// Interval keeps discovery and loss detection prompt. Default 2 s.
	Interval time.Duration
	// Misses is how many intervals in a row a service may go unseen before
	// it is reported removed. Default 3 (one lost packet is not a removal).
	Misses int
	// InterfaceSource replaces net.Interfaces, for tests.
	InterfaceSource InterfaceSource
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
}

// MDNSBrowser is the multicast DNS Browser.
//
// It runs overlapping browse rounds: every Interval it starts a new
// zeroconf resolver (which sends a fresh query and listens to unsolicited
// announcements) and stops the previous one. The zeroconf resolver reports
// each instance once per round and silently drops goodbye records, so a
// service is reported removed when a goodbye for it arrives (watched by a
// small listener of our own), or when it was not seen for Misses rounds
// (lost goodbye, pulled cable): after at most about Interval*(Misses+1).
// An agent restart or renumbering thus shows as EventRemoved (goodbye),
// then EventAdded (new announcement).
type MDNSBrowser struct {
	cfg BrowserConfig
	log *slog.Logger
}

var _ Browser = (*MDNSBrowser)(nil)

// NewMDNSBrowser returns a browser; nothing is sent until Browse.
func NewMDNSBrowser(cfg BrowserConfig) *MDNSBrowser {
	if cfg.Interval <= 0 {
		cfg.Interval = 2 * time.Second
	}
	if cfg.Misses <= 0 {
		cfg.Misses = 3
	}
	if cfg.InterfaceSource == nil {
		cfg.InterfaceSource = net.Interfaces
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &MDNSBrowser{cfg: cfg, log: log.With("component", "mdns-browser")}
}

type seenService struct {
	svc       Service
	lastSeen  int // round in which it was last seen
	lastRound int // round whose resolver reported it last
}

// staleWindow is how long after a goodbye an entry identical to the
// withdrawn service is taken for a response sent before the goodbye (it
// travels through zeroconf's longer pipeline and can arrive after our
// goodbye listener's report). Such echoes arrive within milliseconds; a
// restarted agent usually needs longer to announce itself again; when an
// entry is ignored, an extra query right after the window finds a live
// register anyway.
const staleWindow = 150 * time.Millisecond

type withdrawal struct {
	svc       Service
	at        time.Time
	lastRound int // round whose resolver reported it last
}

// roundEntry is an entry reported by the resolver of one round.
type roundEntry struct {
	round int
	e     *zeroconf.ServiceEntry
}

// Browse implements Browser.
func (b *MDNSBrowser) Browse(ctx context.Context, fn func(Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	defer wg.Wait() // every forwarder ends once zeroconf closes its channel
	in := make(chan roundEntry)

	goodbye := make(chan string)
	var gl *goodbyeListener
	defer func() { gl.Close() }() // before wg.Wait: its sends give up on ctx.Done

	known := map[string]*seenService{}
	withdrawn := map[string]withdrawal{}
	round := 0
	var stopPrev context.CancelFunc
	defer func() {
		if stopPrev != nil {
			stopPrev()
		}
	}()
	ticker := time.NewTicker(b.cfg.Interval)
	defer ticker.Stop()
	// requery fires a round early after an ignored possible echo (below).
	requery := time.NewTimer(time.Hour)
	requery.Stop()
	defer requery.Stop()
	requeryArmed := false
	for {
		// Start the next round before stopping the previous one, so that
		// no announcement falls into a gap between them.
		round++
		ifaces, stop, err := b.startRound(ctx, round, &wg, in)
		if err != nil {
			b.log.Debug("browse round not started", "err", err)
		}
		if key := strings.Join(names(ifaces), ","); gl == nil || gl.key != key {
			gl.Close()
			gl = nil
			if len(ifaces) > 0 {
				if gl, err = listenGoodbyes(ifaces, goodbye, ctx.Done()); err != nil {
					b.log.Debug("not listening for goodbyes", "err", err)
				}
			}
		}
		if stopPrev != nil {
			stopPrev()
		}
		stopPrev = stop

	collect:
		for {
			select {
			case <-ctx.Done():
				return nil
			case re := <-in:
				if suspect := b.handle(known, withdrawn, round, re, fn); suspect > 0 && !requeryArmed {
					// Ask again once the window is over: a live register
					// answers, an echo of a withdrawn one does not.
					requery.Reset(suspect + 10*time.Millisecond)
					requeryArmed = true
				}
			case <-requery.C:
				requeryArmed = false
				break collect
			case inst := <-goodbye:
				if s, ok := known[inst]; ok {
					delete(known, inst)
					withdrawn[inst] = withdrawal{svc: s.svc, at: time.Now(), lastRound: s.lastRound}
					b.log.Info("register withdrawn", "register", s.svc.Key().String(), "instance", inst)
					fn(Event{Kind: EventRemoved, Service: s.svc})
				}
			case <-ticker.C:
				break collect
			}
		}
		for inst, w := range withdrawn {
			if time.Since(w.at) > staleWindow {
				delete(withdrawn, inst)
			}
		}
		for inst, s := range known {
			if round-s.lastSeen >= b.cfg.Misses {
				delete(known, inst)
				b.log.Info("register gone", "register", s.svc.Key().String(), "instance", inst)
				fn(Event{Kind: EventRemoved, Service: s.svc})
			}
		}
	}
}

// handle applies one entry. For an entry ignored as a possible echo it
// returns how long the stale window still lasts, else 0.
func (b *MDNSBrowser) handle(known map[string]*seenService, withdrawn map[string]withdrawal, round int, re roundEntry, fn func(Event)) time.Duration {
	e := re.e
	svc, err := serviceFromEntry(e)
	if err != nil {
		// Hostile or foreign announcement: ignore it; a known service keeps
		// its last good state until it times out.
		b.log.Debug("ignoring announcement", "instance", e.Instance, "err", err)
		return 0
	}
	// A resolver that reported the instance before reports it again only
	// after processing the goodbye: then the entry is fresh. A first report
	// from another round's resolver, identical to what was just withdrawn,
	// may be a response sent before the goodbye.
	if w, ok := withdrawn[svc.Instance]; ok && re.round != w.lastRound && time.Since(w.at) < staleWindow && w.svc.Equal(svc) {
		b.log.Debug("ignoring response sent before goodbye", "instance", svc.Instance, "after", time.Since(w.at))
		return max(staleWindow-time.Since(w.at), time.Millisecond)
	}
	if s, ok := known[svc.Instance]; ok {
		s.lastSeen = round
		// A resolver reports an instance once, and again only after a
		// goodbye (TTL 0) for it: the register restarted or re-announced.
		again := s.lastRound == re.round
		s.lastRound = re.round
		if again || !s.svc.Equal(svc) {
			s.svc = svc
			b.log.Info("register changed or re-announced", "register", svc.Key().String(), "addrs", svc.Addrs, "port", svc.Port, "reannounced", again)
			fn(Event{Kind: EventUpdated, Service: svc})
		}
		return 0
	}
	if len(known) >= maxServices {
		b.log.Warn("too many services announced; ignoring new ones", "limit", maxServices)
		return 0
	}
	known[svc.Instance] = &seenService{svc: svc, lastSeen: round, lastRound: re.round}
	b.log.Info("register found", "register", svc.Key().String(), "name", svc.Name, "addrs", svc.Addrs, "port", svc.Port)
	fn(Event{Kind: EventAdded, Service: svc})
	return 0
}

// startRound starts one zeroconf browse on the current interfaces and
// forwards its entries to in until stopped. The forwarder keeps draining
// until zeroconf closes the channel, so zeroconf's goroutines can exit.
func (b *MDNSBrowser) startRound(ctx context.Context, round int, wg *sync.WaitGroup, in chan<- roundEntry) ([]net.Interface, context.CancelFunc, error) {
	all, err := b.cfg.InterfaceSource()
	if err != nil {
		return nil, nil, fmt.Errorf("discovery: listing interfaces: %w", err)
	}
	ifaces := selectInterfaces(all, b.cfg.Interfaces)
	if len(ifaces) == 0 {
		return nil, nil, errors.New("discovery: no usable interface")
	}
	var res *zeroconf.Resolver
	var errs []string
	// Both families first; a namespace or host without IPv6 (or IPv4)
	// multicast makes the combined resolver fail, so fall back to one.
	for _, ipt := range []zeroconf.IPType{zeroconf.IPv4AndIPv6, zeroconf.IPv4, zeroconf.IPv6} {
		res, err = zeroconf.NewResolver(zeroconf.SelectIfaces(ifaces), zeroconf.SelectIPTraffic(ipt))
		if err == nil {
			break
		}
		errs = append(errs, err.Error())
	}
	if res == nil {
		return ifaces, nil, fmt.Errorf("discovery: joining mDNS group on %v: %s", names(ifaces), strings.Join(errs, "; "))
	}
	rctx, stop := context.WithCancel(ctx)
	entries := make(chan *zeroconf.ServiceEntry)
	if err := res.Browse(rctx, ServiceType, Domain, entries); err != nil {
		stop()
		// Browse starts its receive loop before sending the query; on error
		// the cancelled loop closes entries: drain it.
		for range entries {
		}
		return ifaces, nil, fmt.Errorf("discovery: browsing: %w", err)
	}
	wg.Go(func() {
		for e := range entries {
			select {
			case in <- roundEntry{round, e}:
			case <-rctx.Done():
			}
		}
	})
	return ifaces, stop, nil
}
