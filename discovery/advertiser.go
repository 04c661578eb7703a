package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/grandcat/zeroconf"
)

// Advertiser announces registers on the local network.
type Advertiser interface {
	// Advertise announces anns until ctx is done, then withdraws them
	// (mDNS goodbye) and returns nil. It returns an error at once when an
	// announcement is invalid. Call it once per set of registers; to change
	// the set, cancel and call again.
	Advertise(ctx context.Context, anns []Announcement) error
}

// Announcement is what an agent announces for one register.
type Announcement struct {
	Record
	Port int // TCP port of the agent's display listener
}

// Validate checks the record and the port.
func (a Announcement) Validate() error {
	if a.Port < 1 || a.Port > 65535 {
		return fmt.Errorf("%w: port %d out of range", ErrInvalidRecord, a.Port)
	}
	return a.Record.Validate()
}

// AdvertiserConfig configures an MDNSAdvertiser. The zero value works:
// every up, multicast-capable interface (or loopback when there is none),
// the machine's host name, addresses polled every 5 s.
type AdvertiserConfig struct {
	// Interfaces restricts announcements to these interface names.
	Interfaces []string
	// Host is the host label for the SRV target, without domain
	// ("register1", not "register1.local."). Default: the host name.
	Host string
	// PollInterval is how often interfaces and addresses are checked for
	// changes. Default 5 s: a DHCP renumbering is noticed quickly, and a
	// poll costs two syscalls per interface.
	PollInterval time.Duration
	// InterfaceSource replaces net.Interfaces, for tests.
	InterfaceSource InterfaceSource
	// AddrSource replaces (*net.Interface).Addrs, for tests.
	AddrSource AddrSource
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
}

// MDNSAdvertiser is the multicast DNS Advertiser. It runs one responder per
// register on the selected interfaces, and re-announces (goodbye for the old
// records, then new announcements) when the interfaces or their addresses
// change.
type MDNSAdvertiser struct {
	cfg AdvertiserConfig
	log *slog.Logger
}

var _ Advertiser = (*MDNSAdvertiser)(nil)

// NewMDNSAdvertiser returns an advertiser; nothing is sent until Advertise.
func NewMDNSAdvertiser(cfg AdvertiserConfig) *MDNSAdvertiser {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	if cfg.InterfaceSource == nil {
		cfg.InterfaceSource = net.Interfaces
	}
	if cfg.AddrSource == nil {
		cfg.AddrSource = systemAddrs
	}
	if cfg.Host == "" {
		cfg.Host = defaultHostLabel()
	} else {
		cfg.Host = hostLabel(cfg.Host)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &MDNSAdvertiser{cfg: cfg, log: log.With("component", "mdns-advertiser")}
}

// Advertise implements Advertiser.
func (a *MDNSAdvertiser) Advertise(ctx context.Context, anns []Announcement) error {
	if len(anns) == 0 {
		return errors.New("discovery: nothing to advertise")
	}
	txts := make([][]string, len(anns))
	seen := map[string]bool{}
	for i, ann := range anns {
		if err := ann.Validate(); err != nil {
			return fmt.Errorf("discovery: announcement %d: %w", i, err)
		}
		if seen[ann.Instance()] {
			return fmt.Errorf("discovery: register %s announced twice", ann.Key())
		}
		seen[ann.Instance()] = true
		raw, _ := ann.EncodeTXT()
		txts[i] = escapeTXT(raw)
	}

	if ctx.Err() != nil {
		return nil
	}
	var (
		servers  []*zeroconf.Server
		curIfs   []string
		curAddrs []netip.Addr
	)
	withdraw := func() {
		for _, s := range servers {
			s.Shutdown() // sends goodbye records (TTL 0) on every interface
		}
		servers = nil
	}
	defer withdraw()

	ticker := time.NewTicker(a.cfg.PollInterval)
	defer ticker.Stop()
	first := true
	for {
		ifaces, addrs, err := a.snapshot()
		if err != nil {
			a.log.Warn("cannot list interfaces; keeping current announcements", "err", err)
		} else if first || !slices.Equal(names(ifaces), curIfs) || !slices.Equal(addrs, curAddrs) {
			if !first {
				a.log.Info("network changed, re-announcing", "interfaces", names(ifaces), "addrs", addrs, "old_interfaces", curIfs, "old_addrs", curAddrs)
			}
			withdraw()
			curIfs, curAddrs = names(ifaces), addrs
			if len(ifaces) == 0 || len(addrs) == 0 {
				a.log.Warn("no usable interface or address; not announcing until one appears", "interfaces", curIfs)
			} else {
				ips := make([]string, len(addrs))
				for i, ad := range addrs {
					ips[i] = ad.String()
				}
				for i, ann := range anns {
					s, err := zeroconf.RegisterProxy(ann.Instance(), ServiceType, Domain, ann.Port, a.cfg.Host, ips, txts[i], ifaces)
					if err != nil {
						// e.g. the interface vanished between listing and joining:
						// retry on the next poll.
						a.log.Warn("announcing failed; retrying", "register", ann.Key().String(), "err", err)
						curIfs = nil
						continue
					}
					servers = append(servers, s)
				}
				a.log.Info("announcing", "registers", len(servers), "host", a.cfg.Host, "interfaces", curIfs, "addrs", addrs)
			}
			first = false
		}
		select {
		case <-ctx.Done():
			a.log.Info("withdrawing announcements", "registers", len(servers))
			return nil
		case <-ticker.C:
		}
	}
}

func (a *MDNSAdvertiser) snapshot() ([]net.Interface, []netip.Addr, error) {
	all, err := a.cfg.InterfaceSource()
	if err != nil {
		return nil, nil, fmt.Errorf("discovery: listing interfaces: %w", err)
	}
	ifaces := selectInterfaces(all, a.cfg.Interfaces)
	addrs, err := advertisedAddrs(ifaces, a.cfg.AddrSource)
	if err != nil {
		return nil, nil, err
	}
	return ifaces, addrs, nil
}

func names(ifaces []net.Interface) []string {
	out := make([]string, len(ifaces))
	for i, ifi := range ifaces {
		out[i] = fmt.Sprintf("%s#%d", ifi.Name, ifi.Index) // a re-created interface gets a new index
	}
	return out
}
