package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
)

// Target is one way to reach an agent's display endpoint.
type Target struct {
	// URL is the display endpoint, ws://HOST:7422/v1/display or wss://...
	URL string
	// TLS configures a wss:// connection, typically pinned to the agent's
	// certificate fingerprint; nil uses Go's defaults.
	TLS *tls.Config
}

// Source tells the client where the agent is. Next is called before every
// connection attempt; it blocks until an address is known (a discovery
// source keeps browsing) or ctx ends, and then returns ctx's error. While
// the first call blocks, the display shows StatusSearching.
type Source interface {
	Next(ctx context.Context) (Target, error)
}

// Static is a Source that always returns the same configured target.
type Static Target

// Next returns the configured target at once.
func (s Static) Next(ctx context.Context) (Target, error) {
	if err := ctx.Err(); err != nil {
		return Target{}, err
	}
	return Target(s), nil
}

// ErrBadURL is wrapped by errors about a target URL that cannot be a
// display endpoint.
var ErrBadURL = errors.New("bad agent URL")

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return fmt.Errorf("%w: scheme %q, want ws or wss", ErrBadURL, u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("%w: no host in %q", ErrBadURL, raw)
	}
	return nil
}

// Feedback is an optional interface for a Source that wants to know how its
// targets did, e.g. a discovery source that moves on to the next announced
// address. The client calls Failed from its own goroutine when a connection
// to t ended before the replica went live (dial error, TLS mismatch,
// rejection, no snapshot).
type Feedback interface {
	Failed(t Target, err error)
}

// LiveFeedback is an optional interface for a Source that wants to know
// which target worked: the client calls Live from its own goroutine when a
// connection to t went live (verified identity, snapshot applied), e.g. to
// remember it as the last good address.
type LiveFeedback interface {
	Live(t Target)
}
