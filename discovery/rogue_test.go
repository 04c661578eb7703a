//go:build linux

package discovery_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grandcat/zeroconf"

	"github.com/posdisplay/posdisplay/discovery"
	"github.com/posdisplay/posdisplay/discovery/discoverytest"
	"github.com/posdisplay/posdisplay/register/tlsid"
)

// TestRogueRegisterRefused wires discovery to the TLS pin the way the
// screen does: a rogue announces our register (same agent and register ID)
// with its own certificate; the tracker ranks it after the genuine one and
// the pinned TLS handshake refuses it with tlsid.ErrUntrusted.
func TestRogueRegisterRefused(t *testing.T) {
	if !discoverytest.InNetNS(t) {
		return
	}
	t.Cleanup(func() { discoverytest.VerifyNoLeaks(t, 10*time.Second) })
	genuine, genuineAddr := tlsServer(t)
	rogue, rogueAddr := tlsServer(t)

	tr, err := discovery.NewTracker(discovery.TrackerConfig{
		Pairing: &discovery.Pairing{Key: discovery.Key{AgentID: "agent1", RegisterID: "till1"}, Fingerprint: genuine.Fingerprint},
		Logger:  testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	br := discovery.NewMDNSBrowser(discovery.BrowserConfig{Interval: 300 * time.Millisecond, Logger: testLogger(t)})
	run(t, func(ctx context.Context) error { return tr.Run(ctx, br) })

	a := ann("agent1", "till1", "Till 1", genuineAddr.Port)
	a.Fingerprint = genuine.Fingerprint
	adv := discovery.NewMDNSAdvertiser(discovery.AdvertiserConfig{Host: "register1", Logger: testLogger(t)})
	run(t, func(ctx context.Context) error { return adv.Advertise(ctx, []discovery.Announcement{a}) })

	// The rogue claims the same register under another instance name.
	rec := a.Record
	rec.Fingerprint = rogue.Fingerprint
	txt, err := rec.EncodeTXT()
	if err != nil {
		t.Fatal(err)
	}
	lo := lo(t)
	rs, err := zeroconf.RegisterProxy("agent1-till1-x", discovery.ServiceType, discovery.Domain, rogueAddr.Port, "rogue", []string{"127.0.0.1"}, txt, []net.Interface{lo})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Shutdown()

	want := []string{"127.0.0.1:" + strconv.Itoa(genuineAddr.Port), "127.0.0.1:" + strconv.Itoa(rogueAddr.Port)}
	deadline := time.After(10 * time.Second)
	for {
		var got []string
		for _, c := range tr.Candidates() {
			if c.Source == discovery.FromAnnouncement && strings.HasPrefix(c.Addr, "127.0.0.1:") {
				got = append(got, c.Addr)
			}
		}
		if len(got) == 2 {
			if got[0] != want[0] || got[1] != want[1] {
				t.Fatalf("candidates = %q, want genuine first: %q", got, want)
			}
			break
		}
		select {
		case <-tr.Changed():
		case <-deadline:
			t.Fatalf("candidates = %q, want both %q", got, want)
		}
	}

	cfg, err := tlsid.PinnedClientConfig(genuine.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range tr.Candidates() {
		if !strings.HasPrefix(c.Addr, "127.0.0.1:") {
			continue // ::1 endpoints are the same servers
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", c.Addr, cfg)
		if conn != nil {
			conn.Close()
		}
		switch {
		case c.PinMatches && err != nil:
			t.Errorf("dial genuine %s: %v, want success", c.Addr, err)
		case !c.PinMatches && !errors.Is(err, tlsid.ErrUntrusted):
			t.Errorf("dial rogue %s: %v, want tlsid.ErrUntrusted", c.Addr, err)
		case c.PinMatches:
			if err := tr.MarkGood(c.Addr); err != nil {
				t.Error(err)
			}
		}
	}
}

// tlsServer runs a TLS server with a fresh identity on 127.0.0.1 that
// completes handshakes and closes.
func tlsServer(t *testing.T) (*tlsid.Identity, *net.TCPAddr) {
	t.Helper()
	id, err := tlsid.LoadOrCreate(t.TempDir(), tlsid.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", id.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return id, ln.Addr().(*net.TCPAddr)
}
