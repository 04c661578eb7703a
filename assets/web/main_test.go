package web_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: agents,
// display clients, relays and browsers must all be shut down.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
