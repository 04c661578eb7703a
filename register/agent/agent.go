// Package agent assembles the register agent: per-register streams, the
// cart store, the POS side (ingest), the display hub, health and metrics,
// and the two listeners. cmd/posdisplay-agent only parses flags and calls
// New and Run.
package agent

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	web "github.com/posdisplay/posdisplay/assets/web"
	"github.com/posdisplay/posdisplay/discovery"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/connlimit"
	"github.com/posdisplay/posdisplay/register/hub"
	"github.com/posdisplay/posdisplay/register/ingest"
	"github.com/posdisplay/posdisplay/register/metrics"
	"github.com/posdisplay/posdisplay/register/pairing"
	"github.com/posdisplay/posdisplay/register/pole"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/redisfeed"
	"github.com/posdisplay/posdisplay/register/scanroute"
	"github.com/posdisplay/posdisplay/register/store"
	"github.com/posdisplay/posdisplay/register/storecert"
	"github.com/posdisplay/posdisplay/register/stream"
	"github.com/posdisplay/posdisplay/register/tlsid"
	"github.com/posdisplay/posdisplay/scanner"
)

// Version is the agent's version, set at build time with
// -ldflags "-X github.com/posdisplay/posdisplay/register/agent.Version=1.2.3".
var Version = "dev"

// Options are hooks for tests; the zero value is what the product runs.
type Options struct {
	// PoleWrote, when set, is told of every update written to a pole
	// display, by pole name (tests wait on it).
	PoleWrote func(name string, w pole.Write)
}

// Agent is a running register agent.
type Agent struct {
	cfg        Config
	log        *slog.Logger
	epoch      string
	streams    map[string]*stream.Stream
	store      *store.Store
	metrics    *metrics.Metrics
	hub        *hub.Hub
	ingest     *ingest.Ingest
	router     *scanroute.Router
	scanners   *scanner.Manager
	scanReg    map[string]string // scanner name to register
	poles      []poleRun
	identity   *tlsid.Identity
	storeCert  *storecert.Files // display.cert_file, or nil
	registry   *pairing.Registry
	advertiser discovery.Advertiser
	feed       *redisfeed.Feed // nil unless [redis] is set

	posLn, dispLn       net.Listener
	posLimit, dispLimit *connlimit.Listener
	budget              budget
	posSrv              *http.Server
	dispSrv             *http.Server
	closeOnce           sync.Once
}

// New validates cfg, opens the state directory, restores the persisted carts
// and binds both listeners (so that Addr works before Run).
func New(cfg Config, logger *slog.Logger, opts Options) (_ *Agent, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	a := &Agent{cfg: cfg, log: logger, epoch: newEpoch(), streams: map[string]*stream.Stream{}, metrics: metrics.New()}
	st, err := store.Open(cfg.State.Dir, logger, a.metrics)
	if err != nil {
		return nil, err
	}
	a.store = st
	defer func() {
		if err == nil {
			return
		}
		if a.posLn != nil {
			a.posLn.Close()
		}
		st.Close()
	}()
	for _, r := range cfg.Registers {
		initial := cart.Empty(r, cfg.Currency)
		restored := false
		switch c, err := st.Load(r); {
		case err == nil:
			initial, restored = c, true
			logger.Info("restored cart", "register", r, "lines", len(c.Lines), "state", c.State)
		case errors.Is(err, fs.ErrNotExist):
		case errors.Is(err, store.ErrNotRegular):
			// Something else holds the path: no save could ever land.
			return nil, fmt.Errorf("state: %w", err)
		default:
			logger.Warn("ignoring persisted cart", "register", r, "err", err)
		}
		a.streams[r] = stream.New(r, a.epoch, initial, cfg.Display.History)
		if restored {
			a.streams[r].MarkRestored()
		}
	}
	if cfg.Display.TLS {
		if a.identity, err = tlsid.LoadOrCreate(filepath.Join(cfg.State.Dir, "tls"), tlsid.Options{}); err != nil {
			return nil, err
		}
	}
	if cfg.Display.CertFile != "" {
		if a.storeCert, err = storecert.Load(cfg.Display.CertFile, cfg.Display.KeyFile, logger.With("part", "tls")); err != nil {
			return nil, fmt.Errorf("display.cert_file: %w", err)
		}
	}
	if a.registry, err = pairing.OpenRegistry(cfg.State.Dir, cfg.Registers); err != nil {
		return nil, err
	}
	adminToken, err := pairing.LoadOrCreateAdminToken(cfg.State.Dir)
	if err != nil {
		return nil, err
	}
	auth := anyOf{staticTokens(cfg.Display.Tokens), a.registry}
	queue, raised := cfg.queueFrames()
	if raised {
		logger.Warn("display.queue_frames raised to fit a POS burst (pos.rate_burst + 8)", "configured", cfg.Display.QueueFrames, "used", queue)
	}
	a.hub = hub.New(a.streams, auth, a.metrics, logger.With("part", "hub"), hub.Options{
		QueueFrames:  queue,
		PingInterval: time.Duration(cfg.Display.PingInterval),
		PongWait:     hub.DisplayPongWait,
		AgentID:      cfg.AgentID,
		Presence: func(s hub.Session, _ bool) {
			host, _, _ := net.SplitHostPort(s.Remote)
			a.registry.Seen(s.DisplayID, host, time.Now())
		},
	})
	// The POS listener first: the demo page's origin is the address it
	// really listens on (a ":0" in the config is a port chosen now).
	if a.budget, err = connectionBudget(cfg); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.POS.Listen)
	if err != nil {
		return nil, fmt.Errorf("pos listener: %w", err)
	}
	a.posLimit = connlimit.New(ln, a.budget.POS)
	a.posLn = a.posLimit
	origins := cfg.POS.AllowedOrigins
	if cfg.Demo.Page {
		bound := a.posLn.Addr().String()
		origins = append(append([]string{}, origins...), "http://"+cfg.POS.Listen, "http://"+bound)
		if host, port, err := net.SplitHostPort(bound); err == nil && (host == "127.0.0.1" || host == "::" || host == "0.0.0.0") {
			origins = append(origins, "http://localhost:"+port, "http://127.0.0.1:"+port)
		}
	}
	a.ingest = ingest.New(a.streams, st, a.metrics, logger.With("part", "pos"), ingest.Options{
		AllowedOrigins:     origins,
		AllowMissingOrigin: cfg.POS.AllowMissingOrigin,
		BridgeToken:        cfg.POS.BridgeToken,
		BackendToken:       cfg.POS.BackendToken,
		SoftLimit:          cfg.POS.MaxMessageBytes,
		Rate:               cfg.POS.RateLimit,
		Burst:              cfg.POS.RateBurst,
		AgentID:            cfg.AgentID,
	})

	a.router = scanroute.New(a.ingest, a.metrics, logger.With("part", "scans"), a.epoch, scanroute.Options{
		Sale: func(reg string) (uint64, string, cart.State) {
			st, ok := a.streams[reg]
			if !ok {
				return 0, "", cart.StateIdle
			}
			c, seq := st.Current()
			return seq, c.Order, c.State
		},
		TTL: time.Duration(cfg.ScanTTL),
		Cue: func(register string) {
			if st, ok := a.streams[register]; ok {
				_ = st.Cue(protocol.CueScanning)
			}
		},
	})
	a.ingest.ScanAcks = a.router.Ack
	a.ingest.PageConnected = a.router.PageConnected
	a.ingest.ScanRefused = a.router.Refuse
	if err := a.newFeed(); err != nil {
		return nil, err
	}
	a.ingest.SaleChanged = a.saleChanged
	for reg, st := range a.streams {
		c := st.Cart() // the persisted cart: scans read now belong to its sale
		a.saleChanged(reg, 0, c.Order, c.State)
	}
	if len(cfg.Scanners) > 0 {
		a.scanReg = map[string]string{}
		var scs []scanner.Config
		for _, sc := range cfg.Scanners {
			reg := sc.Register
			if reg == "" {
				reg = cfg.Registers[0]
			}
			a.scanReg[sc.Name] = reg
			scs = append(scs, sc.Config)
		}
		if a.scanners, err = scanner.NewManager(scs, scanner.Options{Logger: logger.With("part", "scanner")}); err != nil {
			return nil, err
		}
	}

	if a.poles, err = newPoles(cfg, logger, opts.PoleWrote); err != nil {
		return nil, err
	}

	pairSrv := &pairing.Server{
		Pairer: pairing.NewPairer(a.registry, pairing.PairerOptions{}), Registry: a.registry, AgentID: cfg.AgentID,
		Fingerprint: a.Fingerprint(), AdminToken: adminToken, Log: logger.With("part", "pairing"),
		Revoked: func(id string) int { return a.hub.Revoke(id) },
		Connections: func() []pairing.Connection {
			var out []pairing.Connection
			for _, s := range a.hub.Sessions() {
				host, _, _ := net.SplitHostPort(s.Remote)
				out = append(out, pairing.Connection{DisplayID: s.DisplayID, Addr: host, Since: s.Since})
			}
			return out
		},
	}
	if cfg.Discovery.Advertise {
		a.advertiser = discovery.NewMDNSAdvertiser(discovery.AdvertiserConfig{Interfaces: cfg.Discovery.Interfaces, Logger: logger.With("part", "mdns")})
	}

	posMux := http.NewServeMux()
	a.ingest.Register(posMux)
	pairSrv.MountAdmin(posMux)
	posMux.HandleFunc("GET /healthz", a.serveHealth)
	posMux.Handle("GET /metrics", a.metrics.Handler())
	posStatic := web.POSHandler(cfg.Demo.Page)
	posMux.Handle(web.BridgePath, posStatic)
	posMux.Handle("/demo", posStatic)
	posMux.Handle(web.DemoPath, posStatic)
	dispMux := http.NewServeMux()
	dispMux.Handle("GET /v1/display", a.hub)
	dispMux.HandleFunc("POST "+protocol.PollPath, a.hub.ServePoll) // the polling transport
	pairSrv.MountPublic(dispMux)
	dispMux.HandleFunc("GET /healthz", displayHealth)
	dispMux.Handle(web.DisplayPath, web.DisplayHandler())
	dispMux.Handle(web.DisplayPath+"/", web.DisplayHandler())
	errLog := slog.NewLogLogger(logger.Handler(), slog.LevelDebug)
	a.posSrv = &http.Server{Handler: posMux, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: posReadTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: posIdleTimeout, ErrorLog: errLog}
	a.dispSrv = &http.Server{Handler: dispMux, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: displayReadTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: displayIdleTimeout, ErrorLog: errLog}

	a.posSrv.ConnState = a.posLimit.ConnState
	if ln, err = net.Listen("tcp", cfg.Display.Listen); err != nil {
		return nil, fmt.Errorf("display listener: %w", err)
	}
	// Counted under TLS, so that a connection stuck in its handshake
	// holds a slot, and can be shed, like any other.
	a.dispLimit = connlimit.New(ln, a.budget.Display)
	a.dispLimit.MaxIdlePerHost = displayIdlePerHost
	a.dispSrv.ConnState = a.dispLimit.ConnState
	a.dispLn = a.dispLimit
	switch {
	case a.storeCert != nil:
		a.dispLn = tls.NewListener(a.dispLn, a.storeCert.ServerConfig(a.identity.Certificate))
	case a.identity != nil:
		a.dispLn = tls.NewListener(a.dispLn, a.identity.ServerConfig())
	}
	for name, l := range map[string]*connlimit.Listener{"pos": a.posLimit, "display": a.dispLimit} {
		a.metrics.ListenerCounters(name, func() float64 { return float64(l.Shed.Load()) }, func() float64 { return float64(l.Refused.Load()) },
			func() float64 { return float64(l.IdleClosed.Load()) })
	}
	return a, nil
}

// POSAddr is the bound address of the POS listener.
func (a *Agent) POSAddr() net.Addr { return a.posLn.Addr() }

// DisplayAddr is the bound address of the display listener.
func (a *Agent) DisplayAddr() net.Addr { return a.dispLn.Addr() }

// Fingerprint is the SHA-256 fingerprint of the display listener's TLS
// certificate, or "" when TLS is off.
func (a *Agent) Fingerprint() string {
	if a.identity == nil {
		return ""
	}
	return a.identity.Fingerprint
}

// DisplayURL is the display endpoint as a screen on this machine reaches it.
func (a *Agent) DisplayURL() string {
	scheme := "ws"
	if a.identity != nil {
		scheme = "wss"
	}
	return scheme + "://" + a.dispLn.Addr().String() + "/v1/display"
}

// Registry is the paired displays.
func (a *Agent) Registry() *pairing.Registry { return a.registry }

// Epoch is this run's stream epoch.
func (a *Agent) Epoch() string { return a.epoch }

// Hub is the display hub (for revocation).
func (a *Agent) Hub() *hub.Hub { return a.hub }

// Ingest is the POS side (for scan routing).
func (a *Agent) Ingest() *ingest.Ingest { return a.ingest }

// Metrics are the agent's collectors.
func (a *Agent) Metrics() *metrics.Metrics { return a.metrics }

// Stream returns a register's stream.
func (a *Agent) Stream(register string) (*stream.Stream, bool) {
	s, ok := a.streams[register]
	return s, ok
}

// Run serves until ctx is done, then shuts down cleanly: POS pages and
// displays get a close frame (1001), pending carts are written, and Run
// returns once every goroutine it started has ended.
func (a *Agent) Run(ctx context.Context) error {
	a.log.Info("agent started", "version", Version, "agent", a.cfg.AgentID, "epoch", a.epoch,
		"pos", a.posLn.Addr().String(), "display", a.dispLn.Addr().String(), "registers", a.cfg.Registers,
		"max_pos_connections", a.budget.POS, "max_display_connections", a.budget.Display, "nofile", a.budget.NoFile)
	// srv: the two HTTP servers; aux: the parts that feed them (scan
	// router, scanners, mDNS, demo cashier), stopped first so that nothing
	// is saved or sent after the sockets close.
	var srv, aux sync.WaitGroup
	errc := make(chan error, 3)
	serve := func(hs *http.Server, ln net.Listener) {
		defer srv.Done()
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}
	srv.Add(2)
	go serve(a.posSrv, a.posLn)
	go serve(a.dispSrv, a.dispLn)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	aux.Add(1)
	go func() {
		defer aux.Done()
		_ = a.router.Run(runCtx)
	}()
	if a.scanners != nil {
		aux.Add(1)
		go func() {
			defer aux.Done()
			_ = a.scanners.Run(runCtx, func(s scanner.Scan) { a.SubmitScan(a.scanReg[s.Source], s) })
		}()
	}
	if a.feed != nil {
		aux.Add(1)
		go func() {
			defer aux.Done()
			_ = a.feed.Run(runCtx)
		}()
	}
	a.runPoles(runCtx, &aux)
	aux.Add(1)
	go func() {
		defer aux.Done()
		a.saveSeen(runCtx)
	}()
	if a.advertiser != nil {
		aux.Add(1)
		go func() {
			defer aux.Done()
			if err := a.advertiser.Advertise(runCtx, a.announcements()); err != nil {
				a.log.Error("mDNS announcement failed; displays need a configured agent URL", "err", err)
			}
		}()
	}
	if a.cfg.Demo.Cashier {
		aux.Add(1)
		go func() {
			defer aux.Done()
			sim := &Cashier{Register: a.cfg.Registers[0], Currency: a.cfg.Currency, Pace: time.Duration(a.cfg.Demo.Pace), Submit: a.Submit}
			if err := sim.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
				a.log.Error("demo cashier stopped", "err", err)
			}
		}()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		a.log.Error("listener failed", "err", runErr)
	}
	cancel()
	aux.Wait()
	a.shutdown()
	srv.Wait()
	a.log.Info("agent stopped")
	return runErr
}

// shutdownWait bounds the close handshakes at shutdown, so that the agent
// stops within 2 s of SIGTERM whatever its displays do.
const shutdownWait = time.Second

func (a *Agent) shutdown() {
	a.closeOnce.Do(func() {
		// Sockets get a close attempt until then, and are cut after: a
		// stalled display held SIGTERM for the whole 5 s it once had.
		ctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
		defer cancel()
		// Close frames first, while the servers still hold the sockets;
		// POS pages and displays at once, so that neither side's slow
		// peers eat the other's time.
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := a.ingest.Close(ctx); err != nil {
				a.log.Warn("POS sockets did not close in time", "err", err)
			}
		})
		if err := a.hub.Close(ctx); err != nil {
			a.log.Warn("display sockets did not close in time", "err", err)
		}
		wg.Wait()
		_ = a.posSrv.Shutdown(ctx)
		_ = a.dispSrv.Shutdown(ctx)
		_ = a.store.Close()
		// Every display connection has ended: their last-seen times are
		// the time of this shutdown.
		if err := a.registry.SaveSeen(); err != nil {
			a.log.Warn("could not save when displays were last seen", "err", err)
		}
	})
}

// seenSaveInterval is how often last-seen times reach displays.json: a
// crash loses at most this much of them, and a thousand displays
// reconnecting after a restart cost one write instead of a thousand.
const seenSaveInterval = 10 * time.Second

// saveSeen writes the displays' last-seen times every seenSaveInterval
// until ctx ends.
func (a *Agent) saveSeen(ctx context.Context) {
	t := time.NewTicker(seenSaveInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.registry.SaveSeen(); err != nil {
				a.log.Warn("could not save when displays were last seen", "err", err)
			}
		}
	}
}

// Router is the scan router (tests inject scans through it).
func (a *Agent) Router() *scanroute.Router { return a.router }

// Submit publishes a validated cart as if a POS page had sent it.
func (a *Agent) Submit(c cart.Cart) (uint64, error) {
	if err := c.Validate(); err != nil {
		return 0, err
	}
	seq, perr := a.ingest.Apply(c.Register, protocol.PosMessage{Type: protocol.TypeCart, Cart: &c})
	if perr != nil {
		return 0, perr
	}
	return seq, nil
}

// announcements describe every register for mDNS.
func (a *Agent) announcements() []discovery.Announcement {
	_, portStr, _ := net.SplitHostPort(a.dispLn.Addr().String())
	port, _ := strconv.Atoi(portStr)
	var out []discovery.Announcement
	for _, r := range a.cfg.Registers {
		name := a.cfg.Discovery.Names[r]
		if name == "" {
			name = "Register " + r
		}
		out = append(out, discovery.Announcement{Port: port, Record: discovery.Record{
			ProtocolVersion: discovery.ProtocolVersion, AgentID: a.cfg.AgentID, RegisterID: r, Name: name, Fingerprint: a.Fingerprint(),
		}})
	}
	return out
}

// anyOf authorizes a display if any of its authorizers does.
type anyOf []hub.Authorizer

func (as anyOf) Authorize(token, register string) (string, error) {
	for _, a := range as {
		if id, err := a.Authorize(token, register); err == nil {
			return id, nil
		}
	}
	return "", hub.ErrUnauthorized
}

type registerHealth struct {
	Seq          uint64     `json:"seq"`
	State        cart.State `json:"state"`
	Lines        int        `json:"lines"`
	Displays     int        `json:"displays"`
	POSConnected bool       `json:"pos_connected"`
	PendingScans int        `json:"pending_scans"`
}

func (a *Agent) serveHealth(w http.ResponseWriter, r *http.Request) {
	regs := map[string]registerHealth{}
	for id, st := range a.streams {
		c := st.Cart()
		regs[id] = registerHealth{Seq: st.Position().Seq, State: c.State, Lines: len(c.Lines), Displays: st.Subscribers(), POSConnected: a.ingest.PageConnectedNow(id), PendingScans: a.router.Pending(id)}
	}
	status, reason := a.health()
	h := map[string]any{"status": status, "version": Version, "agent": a.cfg.AgentID, "epoch": a.epoch, "registers": regs}
	if reason != "" {
		h["reason"] = reason
	}
	if a.scanners != nil {
		h["scanners"] = a.scanners.Status()
	}
	if len(a.poles) > 0 {
		h["poles"] = a.poleHealth()
	}
	a.redisHealth(h)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(h)
}

func newEpoch() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Sprintf("t%x", time.Now().UnixNano())
	}
	return hex.EncodeToString(b[:])
}

// staticTokens authorizes displays holding one of the configured tokens for
// any register. The display id is a short, non-secret tag of the token.
type staticTokens []string

func (s staticTokens) Authorize(token, register string) (string, error) {
	if token == "" {
		return "", hub.ErrUnauthorized
	}
	ok := 0
	id := ""
	for i, t := range s {
		if subtle.ConstantTimeCompare([]byte(token), []byte(t)) == 1 {
			ok = 1
			id = fmt.Sprintf("static-%d", i+1)
		}
	}
	if ok == 0 {
		return "", hub.ErrUnauthorized
	}
	return id, nil
}
