package testlog

import (
	"log/slog"
	"testing"
)

// TestQuietAfterEnd: logging after the test has ended must not panic.
func TestQuietAfterEnd(t *testing.T) {
	var late *slog.Logger
	t.Run("inner", func(t *testing.T) {
		late = New(t, slog.LevelInfo)
		late.Info("during the test")
	})
	late.Info("after the test") // t.Log here would panic
}
