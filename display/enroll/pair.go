package enroll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/posdisplay/posdisplay/discovery"
)

// Offer is a pairing code shown for one visible agent.
type Offer struct {
	Agent string // agent id
	Name  string // display-friendly name(s) of its registers
	Addr  string
	Code  string
	// Expires is when the agent forgets Code; the screen opens a new
	// request then.
	Expires time.Time
}

// PairOptions configure Pair.
type PairOptions struct {
	// Name is how this screen is listed to store IT.
	Name string
	// Key is the screen's own key (LoadOrCreateKey); "" sends none.
	Key string
	// Fallback is a configured agent address ("host:port") to offer a code
	// for even when nothing is announced (multicast blocked).
	Fallback string
	// OnOffers is called with the current codes whenever they change, for
	// the pairing screen. It must return quickly.
	OnOffers func([]Offer)
	// Poll is how often approval is checked (default 1 s).
	Poll   time.Duration
	Logger *slog.Logger
}

// Pair opens a pairing request with every agent the tracker sees (and the
// fallback address), reports the codes through OnOffers, and returns the
// credentials of the first one store IT approves. Requests that expire are
// opened again, so a screen left unpaired keeps showing valid codes.
func Pair(ctx context.Context, t *discovery.Tracker, opts PairOptions) (Credentials, error) {
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type attempt struct {
		offer  Offer
		cancel context.CancelFunc
	}
	var (
		mu       sync.Mutex
		attempts = map[string]*attempt{} // by address
		wg       sync.WaitGroup
		result   = make(chan Credentials, 1)
	)
	defer func() { cancel(); wg.Wait() }()
	publish := func() {
		if opts.OnOffers == nil {
			return
		}
		mu.Lock()
		var offers []Offer
		for _, a := range attempts {
			if a.offer.Code != "" {
				offers = append(offers, a.offer)
			}
		}
		mu.Unlock()
		sort.Slice(offers, func(i, j int) bool { return offers[i].Name+offers[i].Addr < offers[j].Name+offers[j].Addr })
		opts.OnOffers(offers)
	}
	start := func(addr, agent, name, fp string) {
		actx, acancel := context.WithCancel(ctx)
		a := &attempt{offer: Offer{Agent: agent, Name: name, Addr: addr}, cancel: acancel}
		attempts[addr] = a
		wg.Add(1)
		go func() {
			defer wg.Done()
			for actx.Err() == nil {
				p, err := Request(actx, addr, Screen{Name: opts.Name, Key: opts.Key}, fp)
				if err != nil {
					log.Info("pairing request failed; retrying", "addr", addr, "err", err)
					if !sleepCtx(actx, 5*time.Second) {
						return
					}
					continue
				}
				mu.Lock()
				a.offer.Code, a.offer.Agent, a.offer.Expires = p.Code, p.Agent, p.Expires
				mu.Unlock()
				publish()
				c, err := p.Wait(actx, opts.Poll)
				if err == nil {
					select {
					case result <- c:
					default:
					}
					return
				}
				if errors.Is(err, ErrFingerprintMismatch) {
					log.Warn("refusing to pair: the agent's certificate does not match its announcement", "addr", addr, "err", err)
				}
				mu.Lock()
				a.offer.Code = ""
				mu.Unlock()
				publish()
				if !sleepCtx(actx, time.Second) {
					return
				}
			}
		}()
	}
	refresh := func() {
		seen := map[string]bool{}
		mu.Lock()
		for _, svc := range t.Unpaired() {
			eps := svc.Endpoints()
			if len(eps) == 0 {
				continue
			}
			addr := eps[0].String()
			seen[addr] = true
			if _, ok := attempts[addr]; !ok {
				start(addr, svc.AgentID, svc.Name, svc.Fingerprint)
			}
		}
		if opts.Fallback != "" {
			seen[opts.Fallback] = true
			if _, ok := attempts[opts.Fallback]; !ok {
				start(opts.Fallback, "", fmt.Sprintf("agent at %s", opts.Fallback), "")
			}
		}
		for addr, a := range attempts {
			if !seen[addr] {
				a.cancel()
				delete(attempts, addr)
			}
		}
		mu.Unlock()
		publish()
	}
	refresh()
	for {
		select {
		case <-ctx.Done():
			return Credentials{}, ctx.Err()
		case c := <-result:
			return c, nil
		case <-t.Changed():
			refresh()
		case <-time.After(2 * time.Second):
			refresh()
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
