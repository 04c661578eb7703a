// Package agenttest runs a register/agent for the tests of other packages
// (the agent's own tests keep their helper: they cannot import this one).
package agenttest

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/posdisplay/posdisplay/register/agent"
)

// Running is an agent whose Run goroutine the test owns.
type Running struct {
	*agent.Agent
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// Start builds an agent from cfg and runs it until the test ends or Stop
// is called; a New error fails the test.
func Start(tb testing.TB, cfg agent.Config, log *slog.Logger) *Running {
	tb.Helper()
	a, err := agent.New(cfg, log, agent.Options{})
	if err != nil {
		tb.Fatalf("agent.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{Agent: a, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(ctx) }()
	tb.Cleanup(func() { r.Stop() })
	return r
}

// Stop ends Run and waits for it; it returns Run's error and may be
// called again.
func (r *Running) Stop() error {
	r.once.Do(func() {
		r.cancel()
		r.err = <-r.done
	})
	return r.err
}
