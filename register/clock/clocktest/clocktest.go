// Package clocktest is a fake clock for tests: it stands still until the
// test moves it. Put its Now method in a part's Options.Clock.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a clock that only moves when told. It is safe for concurrent
// use: the part under test reads it from its own goroutines.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock standing at t.
func New(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (back, when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
