package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/posdisplay/posdisplay/discovery"
	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/display/enroll"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/tlsid"
)

// State files in connection.state_dir.
const (
	pairingFile  = "pairing.json" // enroll.Credentials
	lastAddrFile = "last-addr"    // discovery.AddrFile: the last good register address
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

// unpair forgets the pairing kept in stateDir: the token, the pin and the
// last good address (which belongs to the old register). It touches no
// display, so it works over SSH.
func unpair(stateDir string) error {
	for _, name := range []string{pairingFile, lastAddrFile} {
		if err := os.Remove(filepath.Join(stateDir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("unpair: %w", err)
		}
	}
	return nil
}

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
		// A configured token is store IT's to fix: no pairing to go back to.
		_, err := c.follow(ctx, cn.Register, cn.Token, client.Static(t), false)
		return err
	}

	if err := os.MkdirAll(cn.StateDir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	credPath := filepath.Join(cn.StateDir, pairingFile)
	creds, err := enroll.Load(credPath)
	if err != nil && !errors.Is(err, enroll.ErrNotPaired) {
		return err
	}
	// A paired screen's tracker starts paired, so that the last good
	// address it loads (where the register was last reached, maybe after
	// a move) is kept rather than forgotten as if the pairing were new.
	var pairing *discovery.Pairing
	if creds != nil {
		pairing = pairingOf(creds)
	}
	tracker, err := discovery.NewTracker(discovery.TrackerConfig{
		Pairing:  pairing,
		Fallback: cn.Fallback,
		Store:    discovery.AddrFile(filepath.Join(cn.StateDir, lastAddrFile)),
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

	for {
		if creds == nil {
			if creds, err = c.pair(ctx, tracker, credPath); err != nil {
				return err
			}
			tracker.SetPairing(pairingOf(creds))
		}
		c.log.Info("paired", "agent", creds.AgentID, "register", creds.Register, "display", creds.DisplayID)
		if creds.Addr != "" && !hasLastGood(tracker) {
			// Where pairing worked is a good first guess, but only until a
			// connection went live somewhere: the register may have moved
			// since, and the last good address knows where to.
			_ = tracker.MarkGood(creds.Addr)
		}
		revoked, err := c.follow(ctx, creds.Register, creds.Token, enroll.NewSource(tracker, *creds), true)
		if !revoked {
			return err
		}
		c.log.Warn("the register no longer accepts this screen's token (revoked, or the agent forgot it); pairing again",
			"agent", creds.AgentID, "register", creds.Register, "display", creds.DisplayID)
		if err := unpair(cn.StateDir); err != nil {
			return err
		}
		tracker.SetPairing(nil)
		creds = nil
	}
}

func pairingOf(c *enroll.Credentials) *discovery.Pairing {
	return &discovery.Pairing{Key: discovery.Key{AgentID: c.AgentID, RegisterID: c.Register}, Fingerprint: c.Fingerprint}
}

func hasLastGood(t *discovery.Tracker) bool {
	return slices.ContainsFunc(t.Candidates(), func(c discovery.Candidate) bool { return c.Source == discovery.FromLastGood })
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
	// The screen's own key: the agent replaces this screen's earlier
	// entries when it pairs again. Without it pairing still works.
	key, err := enroll.LoadOrCreateKey(filepath.Join(filepath.Dir(credPath), enroll.KeyFile))
	if err != nil {
		c.log.Warn("no screen key: store IT will see this screen's earlier pairings listed too", "err", err)
	}
	logged := map[string]bool{} // codes already logged: each once, not on every refresh
	creds, err := enroll.Pair(ctx, tracker, enroll.PairOptions{
		Name:     c.o.cfg.Connection.Name,
		Key:      key,
		Fallback: fallback,
		Logger:   c.log,
		OnOffers: func(offers []enroll.Offer) {
			c.show(pairingView(since, offers))
			for _, o := range offers {
				if !logged[o.Code] {
					logged[o.Code] = true
					c.log.Info("pairing code", "agent", o.Agent, "register", o.Name, "addr", o.Addr, "code", o.Code, "expires", o.Expires.Format(time.TimeOnly))
				}
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

// pairingView is what the pairing screen shows for offers.
func pairingView(since time.Time, offers []enroll.Offer) client.View {
	v := client.View{Status: client.StatusPairing, Since: since}
	if len(offers) == 0 {
		v.Err = "Looking for registers on the network…"
		return v
	}
	for _, o := range offers {
		v.Codes = append(v.Codes, client.PairingCode{Register: o.Name, Code: o.Code, Expires: o.Expires})
	}
	return v
}

// follow shows the register's cart until ctx ends. With stopOnRevoke it
// also stops, reporting revoked, when the register refuses this screen's
// token: retrying a revoked token every 30 s would never get anywhere.
func (c *connector) follow(ctx context.Context, register, token string, src client.Source, stopOnRevoke bool) (revoked bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var gone atomic.Bool
	show := c.show
	if stopOnRevoke {
		show = func(v client.View) {
			if v.Status == client.StatusRejected && v.RejectCode == protocol.CodeUnauthorized {
				gone.Store(true)
				cancel()
				return
			}
			c.show(v)
		}
	}
	cl, err := client.New(client.Options{
		Register: register, Token: token, Source: src, Logger: c.log,
		OnView: show, IsUntrusted: untrusted,
	})
	if err != nil {
		return false, err
	}
	err = cl.Run(ctx)
	if gone.Load() {
		return true, nil
	}
	return false, err
}
