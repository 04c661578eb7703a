package discoverytest

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// VerifyNoLeaks fails tb if goroutines other than the test framework's are
// still running after within. The wait is longer than goleak's default
// because zeroconf's announcement goroutine finishes its schedule (up to
// 3.5 s, sending nothing on its closed sockets) after Shutdown returns.
// opts are passed to goleak (a benchmark passes goleak.IgnoreCurrent()
// taken at its start, to ignore the benchmark framework's goroutines).
func VerifyNoLeaks(tb testing.TB, within time.Duration, opts ...goleak.Option) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		err := goleak.Find(opts...)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Errorf("goroutines still running %v after the test: %v", within, err)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
