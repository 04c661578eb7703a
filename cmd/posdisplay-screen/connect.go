package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/posdisplay/posdisplay/discovery"
	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/display/enroll"
	"github.com/posdisplay/posdisplay/register/tlsid"
)

// connector decides how the screen reaches its register: a configured
// address and token, or pairing plus discovery.
type connector struct {
	o    options
	log  *slog.Logger
	show func(client.View)
}

func newConnector(o options, log *slog.Logger, show func(client.View)) (*connector, error) {
	return &connector{o: o, log: log, show: show}, nil
}

func untrusted(err error) bool { return errors.Is(err, tlsid.ErrUntrusted) }

func (c *connector) run(ctx context.Context) error {
	cn := c.o.cfg.Connection
	if cn.AgentURL != "" {
		t := client.Target{URL: cn.AgentURL}
		if cn.Fingerprint != "" {
			cfg, err := tlsid.PinnedClientConfig(cn.Fingerprint)
			if err != nil {
				return err
			}
			t.TLS = cfg
		}
		return c.follow(ctx, cn.Register, cn.Token, client.Static(t))
	}

	if err := os.MkdirAll(cn.StateDir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	credPath := filepath.Join(cn.StateDir, "pairing.json")
	if c.o.unpair {
		if err := os.Remove(credPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		c.log.Info("pairing forgotten; pairing again")
	}
	tracker, err := discovery.NewTracker(discovery.TrackerConfig{
		Fallback: cn.Fallback,
		Store:    discovery.AddrFile(filepath.Join(cn.StateDir, "last-addr")),
		Logger:   c.log,
	})
	if err != nil {
		return err
	}
	browsed := make(chan error, 1)
	if cn.Discovery {
		b := discovery.NewMDNSBrowser(discovery.BrowserConfig{Interfaces: cn.Interfaces, Logger: c.log})
		go func() { browsed <- tracker.Run(ctx, b) }()
	} else {
		close(browsed)
	}
	defer func() { <-browsed }()

	creds, err := enroll.Load(credPath)
	if errors.Is(err, enroll.ErrNotPaired) {
		creds, err = c.pair(ctx, tracker, credPath)
	}
	if err != nil {
		return err
	}
	c.log.Info("paired", "agent", creds.AgentID, "register", creds.Register, "display", creds.DisplayID)
	tracker.SetPairing(&discovery.Pairing{Key: discovery.Key{AgentID: creds.AgentID, RegisterID: creds.Register}, Fingerprint: creds.Fingerprint})
	if creds.Addr != "" {
		_ = tracker.MarkGood(creds.Addr) // where pairing worked: a good first guess
	}
	return c.follow(ctx, creds.Register, creds.Token, enroll.NewSource(tracker, *creds))
}

// pair shows pairing codes until store IT approves one, then saves the
// credentials.
func (c *connector) pair(ctx context.Context, tracker *discovery.Tracker, credPath string) (*enroll.Credentials, error) {
	since := time.Now()
	c.show(client.View{Status: client.StatusPairing, Since: since, Err: "Looking for registers on the network…"})
	fallback := ""
	if c.o.cfg.Connection.Fallback != "" {
		fb, err := discovery.ParseFallback(c.o.cfg.Connection.Fallback)
		if err != nil {
			return nil, err
		}
		fallback = fb
	}
	creds, err := enroll.Pair(ctx, tracker, enroll.PairOptions{
		Name:     c.o.cfg.Connection.Name,
		Fallback: fallback,
		Logger:   c.log,
		OnOffers: func(offers []enroll.Offer) {
			c.show(client.View{Status: client.StatusPairing, Since: since, Err: describeOffers(offers)})
			for _, o := range offers {
				c.log.Info("pairing code", "agent", o.Agent, "register", o.Name, "addr", o.Addr, "code", o.Code)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	if err := enroll.Save(credPath, creds); err != nil {
		return nil, fmt.Errorf("saving the pairing: %w", err)
	}
	return &creds, nil
}

func describeOffers(offers []enroll.Offer) string {
	if len(offers) == 0 {
		return "Looking for registers on the network…"
	}
	parts := make([]string, 0, len(offers))
	for _, o := range offers {
		parts = append(parts, fmt.Sprintf("%s: %s", o.Name, o.Code))
	}
	return "Pairing code — " + strings.Join(parts, " · ")
}

// follow shows the register's cart until ctx ends.
func (c *connector) follow(ctx context.Context, register, token string, src client.Source) error {
	cl, err := client.New(client.Options{
		Register: register, Token: token, Source: src, Logger: c.log,
		OnView: c.show, IsUntrusted: untrusted,
	})
	if err != nil {
		return err
	}
	return cl.Run(ctx)
}
