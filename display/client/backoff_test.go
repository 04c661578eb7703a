package client

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: 5 * time.Second}
	bases := []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000}
	for round := range 2 {
		for i, base := range bases {
			base *= time.Millisecond
			d := b.next()
			if d < base/2 || d >= base {
				t.Errorf("round %d attempt %d: got %v, want in [%v, %v)", round, i, d, base/2, base)
			}
		}
		b.reset()
	}
}

func TestJitterSpreads(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 100 {
		seen[jitter(time.Second)] = true
	}
	if len(seen) < 50 {
		t.Errorf("distinct delays in 100 draws: got %d, want most of them distinct", len(seen))
	}
}
