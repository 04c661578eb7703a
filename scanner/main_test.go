package scanner

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testLogger writes to t.Log, and to buf when given, at debug level.
func testLogger(t testing.TB, buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t: t, buf: buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct {
	t   testing.TB
	buf *syncBuffer
}

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	if w.buf != nil {
		w.buf.Write(p)
	}
	return len(p), nil
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
