package discovery_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/posdisplay/posdisplay/discovery/discoverytest"
)

func TestMain(m *testing.M) {
	if discoverytest.Role() != "" {
		// A role process (see discoverytest.StartRole) keeps a stdin reader
		// running by design; its test checks what it owns.
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}
