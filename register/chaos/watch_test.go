package chaos

import (
	"context"
	"crypto/tls"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/display/client"
)

// seen is one View a display published, with when it arrived.
type seen struct {
	at time.Time
	v  client.View
}

// watcher is a display running the real client library, recording every
// View it publishes.
type watcher struct {
	mu    sync.Mutex
	views []seen
	wake  chan struct{}
}

func watch(t *testing.T, ctx context.Context, url string, n int) []*watcher {
	t.Helper()
	var ws []*watcher
	var wg sync.WaitGroup
	for range n {
		w := &watcher{wake: make(chan struct{}, 1)}
		c, err := client.New(client.Options{
			Register: register, Token: displayToken,
			Source: client.Static{URL: url, TLS: &tls.Config{InsecureSkipVerify: true}},
			Logger: slog.New(slog.DiscardHandler),
			OnView: w.add,
		})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = c.Run(ctx) }()
		ws = append(ws, w)
	}
	t.Cleanup(wg.Wait)
	return ws
}

func (w *watcher) add(v client.View) {
	w.mu.Lock()
	w.views = append(w.views, seen{at: time.Now(), v: v})
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// since returns the views recorded from index i on, and the next index.
func (w *watcher) since(i int) ([]seen, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]seen(nil), w.views[i:]...), len(w.views)
}

func (w *watcher) latest() (seen, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.views) == 0 {
		return seen{}, false
	}
	return w.views[len(w.views)-1], true
}

// waitFor waits until the display's latest View satisfies ok, event by
// event, for at most limit; it returns when that View arrived.
func (w *watcher) waitFor(limit time.Duration, ok func(client.View) bool) (time.Time, bool) {
	end := time.After(limit)
	for {
		if s, have := w.latest(); have && ok(s.v) {
			return s.at, true
		}
		select {
		case <-w.wake:
		case <-end:
			return time.Time{}, false
		}
	}
}
