package discoverytest

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// envRole names the role of a process started by StartRole.
const envRole = "POSDISPLAY_TEST_ROLE"

// Role returns the role this process was started with by StartRole, or ""
// in the test's own process.
func Role() string { return os.Getenv(envRole) }

// Report writes a line for the parent's Proc.Expect. Only roles use it.
func Report(format string, args ...any) {
	fmt.Printf("@@ "+format+"\n", args...)
}

// StopRequested returns a channel closed when the parent calls Proc.Stop
// (the role's stdin reaches EOF). Only roles use it.
func StopRequested() <-chan struct{} {
	stopOnce.Do(func() {
		stopCh = make(chan struct{})
		go func() { // exits at EOF; in a role process stdin is the parent's pipe
			io.Copy(io.Discard, os.Stdin)
			close(stopCh)
		}()
	})
	return stopCh
}

var (
	stopOnce sync.Once
	stopCh   chan struct{}
)
