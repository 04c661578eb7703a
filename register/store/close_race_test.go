package store

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
)

// Save may race with Close during shutdown (the demo cashier, a late POS
// message): it must be dropped, never panic with "send on closed channel".
func TestSaveRacingClose(t *testing.T) {
	dir := t.TempDir()
	for range 100 { // the window is narrow; before the fix this panicked within a few runs
		s, err := Open(dir, slog.New(slog.DiscardHandler), nil)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var saving sync.WaitGroup
		var stop atomic.Bool
		for range 2 {
			wg.Add(1)
			saving.Add(1)
			go func() {
				defer wg.Done()
				c := sample("1")
				s.Save(c, 1)
				saving.Done()
				for !stop.Load() {
					s.Save(c, 1)
				}
			}()
		}
		saving.Wait()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		stop.Store(true)
		wg.Wait()
	}
}
