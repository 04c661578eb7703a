package enroll

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/posdisplay/posdisplay/discovery"
	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/register/tlsid"
)

// retryAfter is how long an address that just failed is passed over while
// other candidates remain.
const retryAfter = 3 * time.Second

// Source gives display/client pinned targets for the paired register: the
// addresses the tracker currently knows (announced, last good, fallback),
// best first, skipping ones that just failed. It remembers the address of
// every connection that went live.
type Source struct {
	tracker *discovery.Tracker
	creds   Credentials
	now     func() time.Time

	mu     sync.Mutex
	failed map[string]time.Time
}

var (
	_ client.Source       = (*Source)(nil)
	_ client.Feedback     = (*Source)(nil)
	_ client.LiveFeedback = (*Source)(nil)
)

// NewSource returns a Source for creds, fed by t (which must be paired with
// creds' agent and register).
func NewSource(t *discovery.Tracker, creds Credentials) *Source {
	return &Source{tracker: t, creds: creds, now: time.Now, failed: map[string]time.Time{}}
}

// Next blocks until the tracker knows an address for the paired register.
func (s *Source) Next(ctx context.Context) (client.Target, error) {
	cfg, err := tlsid.PinnedClientConfig(s.creds.Fingerprint)
	if err != nil {
		return client.Target{}, err
	}
	for {
		if addr := s.pick(); addr != "" {
			return client.Target{URL: "wss://" + addr + "/v1/display", TLS: cfg}, nil
		}
		select {
		case <-ctx.Done():
			return client.Target{}, ctx.Err()
		case <-s.tracker.Changed():
		case <-time.After(time.Second):
		}
	}
}

func (s *Source) pick() string {
	cands := s.tracker.Candidates()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	best, bestAt := "", time.Time{}
	for _, c := range cands {
		at, failed := s.failed[c.Addr]
		if !failed || now.Sub(at) > retryAfter {
			return c.Addr
		}
		if best == "" || at.Before(bestAt) {
			best, bestAt = c.Addr, at
		}
	}
	return best // every candidate failed recently: the least recent one
}

// Failed passes over t's address for a while.
func (s *Source) Failed(t client.Target, err error) {
	if addr := hostPort(t.URL); addr != "" {
		s.mu.Lock()
		s.failed[addr] = s.now()
		s.mu.Unlock()
	}
}

// Live remembers t's address as the last good one.
func (s *Source) Live(t client.Target) {
	if addr := hostPort(t.URL); addr != "" {
		s.mu.Lock()
		delete(s.failed, addr)
		s.mu.Unlock()
		_ = s.tracker.MarkGood(addr)
	}
}

func hostPort(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || !strings.Contains(u.Host, ":") {
		return ""
	}
	return u.Host
}
