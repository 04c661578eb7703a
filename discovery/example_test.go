package discovery_test

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"sync"

	"github.com/posdisplay/posdisplay/discovery"
	"github.com/posdisplay/posdisplay/register/tlsid"
)

// The agent side: load or create the TLS identity, announce each register
// with its fingerprint until ctx is done (then goodbye).
func ExampleMDNSAdvertiser() {
	run := func(ctx context.Context, stateDir string, log *slog.Logger) error {
		id, err := tlsid.LoadOrCreate(stateDir, tlsid.Options{})
		if err != nil {
			return err
		}
		adv := discovery.NewMDNSAdvertiser(discovery.AdvertiserConfig{Logger: log})
		return adv.Advertise(ctx, []discovery.Announcement{{
			Record: discovery.Record{
				ProtocolVersion: discovery.ProtocolVersion,
				AgentID:         "shop1-pc3",
				RegisterID:      "till1",
				Name:            "Till 1",
				Fingerprint:     id.Fingerprint,
			},
			Port: 7443,
		}})
	}
	_ = run
}

// The screen side: browse continuously, let the tracker pick the paired
// register, and connect with the pinned certificate.
func ExampleTracker() {
	run := func(ctx context.Context, stateDir string, pairing discovery.Pairing, log *slog.Logger) error {
		tr, err := discovery.NewTracker(discovery.TrackerConfig{
			Pairing:  &pairing,
			Fallback: "wss://192.0.2.10:7443/display", // where multicast is blocked
			Store:    discovery.AddrFile(filepath.Join(stateDir, "last-good-addr")),
			Logger:   log,
		})
		if err != nil {
			return err
		}
		browser := discovery.NewMDNSBrowser(discovery.BrowserConfig{Logger: log})
		var wg sync.WaitGroup
		defer wg.Wait()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel() // runs before wg.Wait: stops browsing
		wg.Go(func() { tr.Run(ctx, browser) })

		cfg, err := tlsid.PinnedClientConfig(pairing.Fingerprint)
		if err != nil {
			return err
		}
		for {
			for _, c := range tr.Candidates() {
				conn, err := tls.DialWithDialer(&net.Dialer{}, "tcp", c.Addr, cfg)
				if errors.Is(err, tlsid.ErrUntrusted) {
					log.Warn("untrusted register", "addr", c.Addr) // the screen says so
					continue
				}
				if err != nil {
					continue
				}
				tr.MarkGood(c.Addr)
				conn.Close() // real code: speak the display protocol here
				return nil
			}
			select {
			case <-tr.Changed():
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	_ = run
}
