package client_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/hub"
	"github.com/posdisplay/posdisplay/register/metrics"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/stream"
)

// tokenAuth is a hand-written hub.Authorizer: one token, one display.
type tokenAuth string

func (a tokenAuth) Authorize(token, _ string) (string, error) {
	if token != string(a) {
		return "", hub.ErrUnauthorized
	}
	return "disp-1", nil
}

// pollAgent is the agent's real display hub behind an HTTP server that can
// strip Upgrade from display socket requests, as some proxies do.
type pollAgent struct {
	hub       *hub.Hub
	st        *stream.Stream
	url       string // ws://.../v1/display
	noUpgrade atomic.Bool
	n         int
	// sockets hears each display socket going live (the hub's Presence).
	sockets chan struct{}
}

func startPollAgent(t *testing.T) *pollAgent {
	t.Helper()
	a := &pollAgent{st: stream.New(reg, "ep1", cart.Empty(reg, "USD"), 256), sockets: make(chan struct{}, 16)}
	a.hub = hub.New(map[string]*stream.Stream{reg: a.st}, tokenAuth("secret-token"), metrics.New(), testLogger(t), hub.Options{
		Presence: func(_ hub.Session, up bool) {
			if up {
				select {
				case a.sockets <- struct{}{}:
				default: // never hold up the hub
				}
			}
		},
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/display", func(w http.ResponseWriter, r *http.Request) {
		if a.noUpgrade.Load() {
			r.Header.Del("Upgrade")
			r.Header.Del("Connection")
		}
		a.hub.ServeHTTP(w, r)
	})
	mux.HandleFunc("POST "+protocol.PollPath, a.hub.ServePoll)
	srv := httptest.NewServer(mux)
	a.url = "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/display"
	t.Cleanup(func() {
		if err := a.hub.Close(context.Background()); err != nil {
			t.Errorf("hub.Close: %v", err)
		}
		srv.Close()
	})
	return a
}

// publish makes change n: a cart with n%5+1 lines.
func (a *pollAgent) publish(t *testing.T) cart.Cart {
	t.Helper()
	a.n++
	c := cart.Empty(reg, "USD")
	c.State = cart.StateOpen
	for i := range a.n%5 + 1 {
		c.Lines = append(c.Lines, cart.Line{ID: fmt.Sprintf("l%d", i), Title: fmt.Sprintf("Item %d", i), Quantity: 1000, UnitPrice: 100 + cart.Money(a.n), Total: 100 + cart.Money(a.n)})
		c.Subtotal += 100 + cart.Money(a.n)
	}
	c.Total = c.Subtotal
	if _, err := a.st.Publish(c, time.Now()); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPollTransportFollowsStream(t *testing.T) {
	noLeaks(t)
	a := startPollAgent(t)
	first := a.publish(t)
	c := start(t, a.url, func(o *client.Options) { o.Transport = client.TransportPoll })
	waitView(t, c, "the first cart, by polling", liveAt(1, first))
	var last cart.Cart
	for range 30 {
		last = a.publish(t)
	}
	waitView(t, c, "the 31st cart", liveAt(31, last))
	if n := a.hub.Count(); n != 0 {
		t.Errorf("display sockets: got %d, want 0 (polling only)", n)
	}
}

func TestPollTransportRejected(t *testing.T) {
	noLeaks(t)
	a := startPollAgent(t)
	a.publish(t)
	c := start(t, a.url, func(o *client.Options) {
		o.Transport = client.TransportPoll
		o.Token = "wrong"
	})
	v := waitView(t, c, "rejected", func(v client.View) bool { return v.Status == client.StatusRejected })
	if v.RejectCode != protocol.CodeUnauthorized || v.HasCart {
		t.Errorf("rejected view: got code %q, has cart %v; want unauthorized and no cart", v.RejectCode, v.HasCart)
	}
}

// TestAutoFallsBackToPolling: behind a proxy that strips Upgrade, an
// automatic client polls after a few refused upgrades; once WebSockets
// pass again its probe finds out and it moves back to a socket, resuming.
func TestAutoFallsBackToPolling(t *testing.T) {
	noLeaks(t)
	a := startPollAgent(t)
	a.noUpgrade.Store(true)
	first := a.publish(t)
	c := start(t, a.url, func(o *client.Options) {
		o.Transport = client.TransportAuto
		o.ProbeInterval = 20 * time.Millisecond
	})
	waitView(t, c, "the first cart, by polling", liveAt(1, first))
	if n := a.hub.Count(); n != 0 {
		t.Fatalf("display sockets while Upgrade is stripped: got %d, want 0", n)
	}
	second := a.publish(t)
	waitView(t, c, "the second cart", liveAt(2, second))

	a.noUpgrade.Store(false)
	third := a.publish(t)
	select {
	case <-a.sockets:
	case <-time.After(waitLimit):
		t.Fatalf("no display socket within %v after Upgrade passes again", waitLimit)
	}
	waitView(t, c, "the third cart", liveAt(3, third))
	fourth := a.publish(t)
	waitView(t, c, "the fourth cart, over the socket", liveAt(4, fourth))
}

// TestAutoStaysOnWebSocket: an automatic client that gets its socket never
// polls.
func TestAutoStaysOnWebSocket(t *testing.T) {
	noLeaks(t)
	a := startPollAgent(t)
	first := a.publish(t)
	c := start(t, a.url, func(o *client.Options) { o.Transport = client.TransportAuto })
	waitView(t, c, "the first cart", liveAt(1, first))
	if n := a.hub.Count(); n != 1 {
		t.Errorf("display sockets: got %d, want 1", n)
	}
}
