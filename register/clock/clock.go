// Package clock is the one way posdisplay's parts are given the time of day.
//
// A part that stamps, ages or expires things (scan times, pairing codes, a
// socket's message rate, "reconnecting for 10 s" on a screen) reads the time
// through a [Clock] that it takes as the Clock field of its Options, nil
// meaning the real clock. Tests pass a fake (package clock/clocktest) to pick the
// time a golden screen shows or to step past an expiry without waiting.
//
// Waiting is not the clock's job: timers, tickers and socket deadlines use
// package time directly, because the runtime and the kernel measure them
// against real time. A test about waiting runs in testing/synctest, whose
// bubble fakes package time (and therefore a nil Clock) for every goroutine
// in it.
package clock

import "time"

// Clock returns the current time. The zero value (nil) is time.Now.
type Clock func() time.Time

// Now returns the current time.
func (c Clock) Now() time.Time {
	if c == nil {
		return time.Now()
	}
	return c()
}

// Since returns the time elapsed since t.
func (c Clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
