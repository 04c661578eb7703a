package discovery_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/discovery"
	"github.com/posdisplay/posdisplay/register/testlog"
)

const fp1 = "1111111111111111111111111111111111111111111111111111111111111111"

func ann(agent, reg, name string, port int) discovery.Announcement {
	return discovery.Announcement{
		Record: discovery.Record{ProtocolVersion: discovery.ProtocolVersion, AgentID: agent, RegisterID: reg, Name: name, Fingerprint: fp1},
		Port:   port,
	}
}

// events collects browse events for waiting in tests.
type events struct {
	ch chan discovery.Event
}

func newEvents() *events { return &events{ch: make(chan discovery.Event, 1000)} }

func (e *events) fn(ev discovery.Event) {
	select {
	case e.ch <- ev:
	default:
		panic("test event buffer full")
	}
}

func (e *events) wait(t testing.TB, timeout time.Duration, what string, match func(discovery.Event) bool) discovery.Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-e.ch:
			t.Logf("event %s %s instance=%s addrs=%v port=%d", ev.Kind, ev.Service.Key(), ev.Service.Instance, ev.Service.Addrs, ev.Service.Port)
			if match(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event within %v", what, timeout)
		}
	}
}

func is(kind discovery.EventKind, reg string) func(discovery.Event) bool {
	return func(ev discovery.Event) bool { return ev.Kind == kind && ev.Service.RegisterID == reg }
}

// run starts f in a goroutine and returns a stop function that cancels it
// and waits, failing t when f returned an error.
func run(t *testing.T, f func(ctx context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var err error
	wg.Go(func() { err = f(ctx) })
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			if err != nil {
				t.Errorf("returned error: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func testLogger(t testing.TB) *slog.Logger { return testlog.New(t, slog.LevelDebug) }
