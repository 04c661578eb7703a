package discovery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/posdisplay/posdisplay/register/atomicfile"
)

// Pairing is what a display learned when it was paired: which register,
// and the fingerprint of that agent's certificate.
type Pairing struct {
	Key
	Fingerprint string
}

// Source says where a Candidate address came from.
type Source int

// Candidate sources, in the order Candidates lists them.
const (
	FromAnnouncement Source = iota + 1 // currently announced by the paired register
	FromLastGood                       // the last address a connection succeeded on
	FromFallback                       // configured by store IT (multicast blocked)
)

func (s Source) String() string {
	switch s {
	case FromAnnouncement:
		return "announcement"
	case FromLastGood:
		return "last-good"
	case FromFallback:
		return "fallback"
	}
	return fmt.Sprintf("Source(%d)", int(s))
}

// Candidate is an address to try for the paired register.
type Candidate struct {
	Addr   string // "host:port"; host is an IP address except for a fallback
	Source Source
	// PinMatches is true when the announcement carries the pinned
	// fingerprint; false for announcements claiming our register with
	// another certificate (re-installed agent, or a rogue) and for
	// non-announcement sources. The TLS pin check decides either way.
	PinMatches bool
}

// AddrStore persists the last good address.
type AddrStore interface {
	Load() (string, error) // "" and nil when nothing was stored yet
	Save(addr string) error
}

// TrackerConfig configures a Tracker.
type TrackerConfig struct {
	// Pairing is the paired register; nil while unpaired (SetPairing
	// changes it later).
	Pairing *Pairing
	// Fallback is tried last: "host:port", or a URL whose host:port is
	// used (ws://, wss://, http://, https:// with their default ports).
	// Empty: no fallback.
	Fallback string
	// Store keeps the last good address across restarts; nil keeps it in
	// memory only.
	Store AddrStore
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
}

// Tracker follows browse events and answers where the paired register is
// and which unpaired registers are visible. Feed it with Handle (or Run);
// it is safe for concurrent use.
//
// A register vanishing from discovery is no reason to drop a working
// connection: an agent re-announcing after an address change shows as
// removed, then added, and multicast may be lost while unicast works. Use
// Candidates when (re)connecting, and MarkGood after a connection whose
// certificate matched the pin.
type Tracker struct {
	log      *slog.Logger
	store    AddrStore
	fallback string
	changed  chan struct{}

	mu       sync.Mutex
	pairing  *Pairing
	visible  map[string]Service // by instance
	lastGood string
}

// NewTracker returns a tracker, loading the last good address from
// cfg.Store. A bad fallback is an error; a store that cannot be read is
// logged and treated as empty.
func NewTracker(cfg TrackerConfig) (*Tracker, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tracker{
		log:     log.With("component", "tracker"),
		store:   cfg.Store,
		changed: make(chan struct{}, 1),
		visible: map[string]Service{},
	}
	if cfg.Fallback != "" {
		fb, err := ParseFallback(cfg.Fallback)
		if err != nil {
			return nil, err
		}
		t.fallback = fb
	}
	if cfg.Pairing != nil {
		p := *cfg.Pairing
		t.pairing = &p
	}
	if t.store != nil {
		addr, err := t.store.Load()
		switch {
		case err != nil:
			t.log.Warn("cannot load last good address; starting without", "err", err)
		case addr != "":
			if _, _, err := net.SplitHostPort(addr); err != nil {
				t.log.Warn("ignoring malformed last good address", "addr", addr, "err", err)
			} else {
				t.lastGood = addr
			}
		}
	}
	return t, nil
}

// ParseFallback normalizes a configured fallback to "host:port".
func ParseFallback(s string) (string, error) {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", fmt.Errorf("discovery: fallback %q: %w", s, err)
		}
		port := u.Port()
		if port == "" {
			switch u.Scheme {
			case "ws", "http":
				port = "80"
			case "wss", "https":
				port = "443"
			default:
				return "", fmt.Errorf("discovery: fallback %q: no port and unknown scheme %q", s, u.Scheme)
			}
		}
		if u.Hostname() == "" {
			return "", fmt.Errorf("discovery: fallback %q: no host", s)
		}
		return net.JoinHostPort(u.Hostname(), port), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || port == "" {
		return "", fmt.Errorf("discovery: fallback %q: want host:port or a URL", s)
	}
	return s, nil
}

// Run feeds the tracker from b until ctx is done.
func (t *Tracker) Run(ctx context.Context, b Browser) error {
	return b.Browse(ctx, t.Handle)
}

// Handle applies one browse event.
func (t *Tracker) Handle(ev Event) {
	t.mu.Lock()
	switch ev.Kind {
	case EventAdded, EventUpdated:
		t.visible[ev.Service.Instance] = ev.Service
	case EventRemoved:
		delete(t.visible, ev.Service.Instance)
	default:
		t.mu.Unlock()
		return
	}
	if t.pairing != nil && ev.Service.Key() == t.pairing.Key {
		t.log.Info("paired register "+ev.Kind.String(), "register", ev.Service.Key().String(), "addrs", ev.Service.Addrs, "port", ev.Service.Port, "pin_matches", ev.Service.Fingerprint == t.pairing.Fingerprint)
	}
	t.mu.Unlock()
	t.notify()
}

// Changed returns a channel that receives a value (coalesced) whenever
// the visible registers, the pairing or the last good address change.
func (t *Tracker) Changed() <-chan struct{} { return t.changed }

func (t *Tracker) notify() {
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// SetPairing sets the paired register (nil: unpaired). Pairing with
// another register forgets the last good address.
func (t *Tracker) SetPairing(p *Pairing) {
	t.mu.Lock()
	old := t.pairing
	if p == nil {
		t.pairing = nil
	} else {
		c := *p
		t.pairing = &c
	}
	forget := old == nil || p == nil || old.Key != p.Key
	t.mu.Unlock()
	if forget {
		t.setLastGood("")
	}
	t.notify()
}

// Paired returns the paired register as currently announced, preferring
// an announcement with the pinned fingerprint.
func (t *Tracker) Paired() (Service, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	svcs := t.pairedLocked()
	if len(svcs) == 0 {
		return Service{}, false
	}
	return svcs[0], true
}

// pairedLocked lists announcements of the paired key, pin matches first.
func (t *Tracker) pairedLocked() []Service {
	if t.pairing == nil {
		return nil
	}
	var out []Service
	for _, s := range t.visible {
		if s.Key() == t.pairing.Key {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Service) int {
		am, bm := a.Fingerprint == t.pairing.Fingerprint, b.Fingerprint == t.pairing.Fingerprint
		if am != bm {
			if am {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Instance, b.Instance)
	})
	return out
}

// Candidates lists addresses to try for the paired register, best first
// and without duplicates: the announced endpoints (pin-matching
// announcements first), then the last good address, then the fallback.
// With nothing announced only the last two remain. Unpaired: only the
// fallback.
func (t *Tracker) Candidates() []Candidate {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Candidate
	add := func(c Candidate) {
		if !slices.ContainsFunc(out, func(o Candidate) bool { return o.Addr == c.Addr }) {
			out = append(out, c)
		}
	}
	for _, s := range t.pairedLocked() {
		for _, ep := range s.Endpoints() {
			add(Candidate{Addr: ep.String(), Source: FromAnnouncement, PinMatches: s.Fingerprint == t.pairing.Fingerprint})
		}
	}
	if t.pairing != nil && t.lastGood != "" {
		add(Candidate{Addr: t.lastGood, Source: FromLastGood})
	}
	if t.fallback != "" {
		add(Candidate{Addr: t.fallback, Source: FromFallback})
	}
	return out
}

// MarkGood records addr ("host:port") as the address a verified connection
// to the paired register succeeded on, persisting it when it changed.
func (t *Tracker) MarkGood(addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("discovery: last good address %q: %w", addr, err)
	}
	return t.setLastGood(addr)
}

func (t *Tracker) setLastGood(addr string) error {
	t.mu.Lock()
	if t.lastGood == addr {
		t.mu.Unlock()
		return nil
	}
	t.lastGood = addr
	t.mu.Unlock()
	t.notify()
	if t.store == nil {
		return nil
	}
	if err := t.store.Save(addr); err != nil {
		t.log.Warn("cannot persist last good address", "addr", addr, "err", err)
		return fmt.Errorf("discovery: saving last good address: %w", err)
	}
	return nil
}

// Unpaired lists the visible registers other than the paired one, for a
// pairing screen, sorted by name, then agent and register ID.
func (t *Tracker) Unpaired() []Service {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Service
	for _, s := range t.visible {
		if t.pairing != nil && s.Key() == t.pairing.Key {
			continue
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Service) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.AgentID, b.AgentID),
			cmp.Compare(a.RegisterID, b.RegisterID), cmp.Compare(a.Instance, b.Instance))
	})
	return out
}

// AddrFile is an AddrStore keeping the address in a small text file,
// written atomically with mode 0600.
type AddrFile string

// Load implements AddrStore.
func (f AddrFile) Load() (string, error) {
	b, err := os.ReadFile(string(f))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if len(b) > 512 {
		return "", fmt.Errorf("discovery: %s: %d bytes, not an address", f, len(b))
	}
	return strings.TrimSpace(string(b)), nil
}

// Save implements AddrStore.
func (f AddrFile) Save(addr string) error {
	return atomicfile.Write(string(f), []byte(addr+"\n"), 0o600)
}
