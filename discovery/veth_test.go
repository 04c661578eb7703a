//go:build linux

package discovery_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/posdisplay/posdisplay/discovery"
	"github.com/posdisplay/posdisplay/discovery/discoverytest"
	"github.com/posdisplay/posdisplay/register/tlsid"
)

// TestMDNSVeth runs the advertiser in one namespace and the browser in
// another, joined by a veth pair: discovery across a link, an address
// change, a partition (link down) and recovery, and goodbye on shutdown.
// The parent process orchestrates; the roles report what they see.
func TestMDNSVeth(t *testing.T) {
	switch discoverytest.Role() {
	case "advertiser":
		roleAdvertiser(t)
		return
	case "browser":
		roleBrowser(t)
		return
	}
	v := discoverytest.NewVeth(t)
	br := discoverytest.StartRole(t, v.A, "browser")
	br.Expect(t, 10*time.Second, "browsing", func(l string) bool { return l == "browsing" })
	adv := discoverytest.StartRole(t, v.B, "advertiser")

	line := func(kind, addrs string) func(string) bool {
		want := kind + " agent1/till1 " + addrs
		return func(l string) bool { return l == want }
	}
	br.Expect(t, 10*time.Second, "added at 10.77.0.2 and fd77::2", line("added", "10.77.0.2:7443,[fd77::2]:7443"))
	// The screen pairs with the fingerprint it was shown and connects.
	br.Expect(t, 10*time.Second, "pinned TLS to 10.77.0.2", func(l string) bool { return l == "tls ok 10.77.0.2:7443" })
	br.Expect(t, 10*time.Second, "pinned TLS to fd77::2", func(l string) bool { return l == "tls ok [fd77::2]:7443" })

	// The agent's host is renumbered.
	v.IP(t, v.B, "addr", "add", "10.77.0.3/24", "dev", v.IfB)
	v.IP(t, v.B, "addr", "del", v.AddrB, "dev", v.IfB)
	br.Expect(t, 10*time.Second, "re-added at 10.77.0.3", line("added", "10.77.0.3:7443,[fd77::2]:7443"))

	// Partition: the display's cable is pulled, then plugged back in.
	v.SetLink(t, v.A, false)
	br.Expect(t, 10*time.Second, "removed during partition", func(l string) bool { return strings.HasPrefix(l, "removed agent1/till1") })
	v.SetLink(t, v.A, true)
	br.Expect(t, 10*time.Second, "added after recovery", line("added", "10.77.0.3:7443,[fd77::2]:7443"))

	// Goodbye: the agent stops.
	adv.Stop(t)
	br.Expect(t, 10*time.Second, "removed after shutdown", func(l string) bool { return strings.HasPrefix(l, "removed agent1/till1") })
	br.Stop(t)
}

func roleContext(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		select {
		case <-discoverytest.StopRequested():
		case <-ctx.Done():
		}
		cancel()
	}()
	return ctx
}

func roleAdvertiser(t *testing.T) {
	id, err := tlsid.LoadOrCreate(t.TempDir(), tlsid.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", ":7443", id.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	})
	a := ann("agent1", "till1", "Till 1", 7443)
	a.Fingerprint = id.Fingerprint
	adv := discovery.NewMDNSAdvertiser(discovery.AdvertiserConfig{Host: "register1", PollInterval: 200 * time.Millisecond, Logger: testLogger(t)})
	if err := adv.Advertise(roleContext(t), []discovery.Announcement{a}); err != nil {
		t.Fatal(err)
	}
}

func roleBrowser(t *testing.T) {
	br := discovery.NewMDNSBrowser(discovery.BrowserConfig{Interval: 300 * time.Millisecond, Misses: 2, Logger: testLogger(t)})
	ctx := roleContext(t)
	dialed := false
	discoverytest.Report("browsing")
	err := br.Browse(ctx, func(ev discovery.Event) {
		var eps []string
		for _, ep := range ev.Service.Endpoints() {
			eps = append(eps, ep.String())
		}
		discoverytest.Report("%s %s %s", ev.Kind, ev.Service.Key(), strings.Join(eps, ","))
		if ev.Kind != discovery.EventAdded || dialed {
			return
		}
		dialed = true // once: the first announcement's fingerprint is "shown at pairing"
		cfg, err := tlsid.PinnedClientConfig(ev.Service.Fingerprint)
		if err != nil {
			t.Error(err)
			return
		}
		for _, ep := range ev.Service.Endpoints() {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", ep.String(), cfg)
			if err != nil {
				discoverytest.Report("tls failed %s: %v", ep, err)
				continue
			}
			conn.Close()
			discoverytest.Report("tls ok %s", ep)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkDiscoveryAlreadyBrowsing measures the time from starting an
// advertiser to the browser's "added" event while the browser (with
// production settings) was already browsing: the discovery share of
// "agent start -> screen connected".
func BenchmarkDiscoveryAlreadyBrowsing(b *testing.B) {
	if !discoverytest.InNetNS(b) {
		return
	}
	// Runs last: zeroconf's announcement goroutines outlive Shutdown by up to 3.5 s.
	defer discoverytest.VerifyNoLeaks(b, 10*time.Second, goleak.IgnoreCurrent())
	ev := newEvents()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	br := discovery.NewMDNSBrowser(discovery.BrowserConfig{})
	go func() { done <- br.Browse(ctx, ev.fn) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	time.Sleep(100 * time.Millisecond) // the first round is listening

	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		reg := fmt.Sprintf("r%d", i)
		actx, acancel := context.WithCancel(ctx)
		adone := make(chan error, 1)
		adv := discovery.NewMDNSAdvertiser(discovery.AdvertiserConfig{Host: "register1"})
		start := time.Now()
		go func() { adone <- adv.Advertise(actx, []discovery.Announcement{ann("agent1", reg, "Till", 7443)}) }()
		ev.wait(b, 10*time.Second, "added "+reg, is(discovery.EventAdded, reg))
		lat = append(lat, time.Since(start))
		acancel()
		if err := <-adone; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportLatency(b, "discover", lat)
}

func reportLatency(b *testing.B, name string, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	s := append([]time.Duration(nil), lat...)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	b.ReportMetric(ms(sum/time.Duration(len(s))), "ms/"+name)
	b.ReportMetric(ms(s[len(s)/2]), "p50-ms")
	b.ReportMetric(ms(s[(len(s)*99)/100]), "p99-ms")
	b.ReportMetric(ms(s[len(s)-1]), "max-ms")
}

// BenchmarkRediscoveryAfterRestart measures the time from an agent's
// restart (stop with goodbye, then start again) to the browser's "added"
// event for it, the browser running with production settings.
func BenchmarkRediscoveryAfterRestart(b *testing.B) {
	if !discoverytest.InNetNS(b) {
		return
	}
	defer discoverytest.VerifyNoLeaks(b, 10*time.Second, goleak.IgnoreCurrent())
	ev := newEvents()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	br := discovery.NewMDNSBrowser(discovery.BrowserConfig{})
	go func() { done <- br.Browse(ctx, ev.fn) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	anns := []discovery.Announcement{ann("agent1", "till1", "Till", 7443)}
	start := func() (stop func()) {
		actx, acancel := context.WithCancel(ctx)
		adone := make(chan error, 1)
		adv := discovery.NewMDNSAdvertiser(discovery.AdvertiserConfig{Host: "register1"})
		go func() { adone <- adv.Advertise(actx, anns) }()
		return func() {
			acancel()
			if err := <-adone; err != nil {
				b.Error(err)
			}
		}
	}
	stop := start()
	ev.wait(b, 10*time.Second, "added till1", is(discovery.EventAdded, "till1"))

	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		stop()
		t0 := time.Now()
		stop = start()
		ev.wait(b, 10*time.Second, "till1 again", is(discovery.EventAdded, "till1"))
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	stop()
	reportLatency(b, "rediscover", lat)
}
