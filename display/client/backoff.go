package client

import (
	"math/rand/v2"
	"time"
)

// backoff yields jittered exponential delays between connection attempts:
// each failure doubles the base delay up to max, and the delay actually
// waited is drawn from [base/2, base) so that many displays restarted by
// one agent restart do not reconnect in lockstep.
type backoff struct {
	min, max time.Duration
	cur      time.Duration
}

// next returns the delay before the next attempt and advances the base.
func (b *backoff) next() time.Duration {
	if b.cur < b.min {
		b.cur = b.min
	}
	d := b.cur
	b.cur *= 2
	if b.cur > b.max {
		b.cur = b.max
	}
	return jitter(d)
}

// reset starts over from min after a connection that went live.
func (b *backoff) reset() { b.cur = 0 }

// jitter returns a random duration in [d/2, d).
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half)
}
