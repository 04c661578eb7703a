package clock_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/posdisplay/posdisplay/register/clock"
	"github.com/posdisplay/posdisplay/register/clock/clocktest"
)

func TestNilIsTheRealClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c clock.Clock
		start := c.Now()
		if !start.Equal(time.Now()) {
			t.Errorf("nil Clock.Now() = %v, want time.Now() %v", start, time.Now())
		}
		time.Sleep(3 * time.Second) // fake time in the bubble
		if got := c.Since(start); got != 3*time.Second {
			t.Errorf("Since = %v, want 3s", got)
		}
	})
}

func TestFake(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 14, 30, 0, 0, time.UTC)
	f := clocktest.New(t0)
	var c clock.Clock = f.Now
	if got := c.Now(); !got.Equal(t0) {
		t.Errorf("Now = %v, want %v", got, t0)
	}
	f.Advance(90 * time.Second)
	if got := c.Since(t0); got != 90*time.Second {
		t.Errorf("Since after Advance(90s) = %v, want 1m30s", got)
	}
	f.Advance(-time.Minute)
	if got := c.Now(); !got.Equal(t0.Add(30 * time.Second)) {
		t.Errorf("Now after a step back = %v, want %v", got, t0.Add(30*time.Second))
	}
}
