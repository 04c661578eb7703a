package web_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/register/agent"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/testenv"
	"github.com/posdisplay/posdisplay/register/testlog"
)

const (
	chromiumPath = "/usr/bin/chromium"
	displayToken = "display-token-0123456789"
	register     = "1"
	waitLong     = 10 * time.Second
)

// freeAddr reserves a loopback port and releases it, so that an agent (and
// its restarted successor) can be told its address before it binds: the
// POS origin allowlist must name the demo page's own origin.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// testAgent is a real register agent; it serves this package's assets
// itself (bridge and display always, the demo page with demo.page).
type testAgent struct {
	*agent.Agent
	posAddr, dispAddr string
	cancel            context.CancelFunc
	done              chan error
	once              sync.Once
}

func agentConfig(t testing.TB, posAddr, dispAddr string, origins ...string) agent.Config {
	cfg := agent.DefaultConfig()
	cfg.AgentID = "web-test"
	cfg.Registers = []string{register}
	cfg.POS.Listen = posAddr
	cfg.Display.Listen = dispAddr
	cfg.POS.AllowedOrigins = append([]string{"http://" + posAddr}, origins...)
	cfg.Display.Tokens = []string{displayToken}
	cfg.State.Dir = t.TempDir()
	cfg.Demo.Page = true // the agent mounts web.POSHandler(true) and web.DisplayHandler
	// Never mDNS from tests: the network rule allows loopback only.
	cfg.Discovery.Advertise = false
	// Plain HTTP display listener; TestWebDisplayOverTLS covers the default.
	cfg.Display.TLS = false
	return cfg
}

// startAgent runs an agent until the test ends; before hooks run between
// New and Run (to set ingest callbacks without a race).
func startAgent(t testing.TB, cfg agent.Config, before ...func(*agent.Agent)) *testAgent {
	t.Helper()
	var a *agent.Agent
	var err error
	// The port was reserved and released by freeAddr, or is being reused
	// after a restart: retry briefly if it is not free yet.
	for i := 0; i < 50; i++ {
		a, err = agent.New(cfg, testLogger(t), agent.Options{})
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	for _, f := range before {
		f(a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ta := &testAgent{Agent: a, posAddr: a.POSAddr().String(), dispAddr: a.DisplayAddr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { ta.done <- a.Run(ctx) }()
	t.Cleanup(ta.stop)
	return ta
}

func (a *testAgent) stop() {
	a.once.Do(func() {
		a.cancel()
		<-a.done
	})
}

// cartOf returns the agent's current cart of the test register.
func (a *testAgent) cartOf() cart.Cart {
	st, _ := a.Stream(register)
	return st.Cart()
}

// newBrowser starts headless Chromium on loopback only and returns a
// context for its first tab. Skips when Chromium is not installed, fails
// under CI=true.
func newBrowser(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		testenv.Missing(t, "Chromium", "not installed at %s (apt-get install -y chromium): %v", chromiumPath, err)
	}
	// Not t.TempDir: Chromium's helper processes may still write into the
	// profile for a moment after the browser exits.
	profile, err := os.MkdirTemp("", "posdisplay-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		// Nothing but loopback: any other host fails to resolve.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("no-proxy-server", true),
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	if err := chromedp.Run(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("starting Chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
	})
	failOnDialogs(t, ctx)
	return ctx
}

// newTab opens another tab in the same browser.
func newTab(t testing.TB, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("new tab: %v", err)
	}
	t.Cleanup(cancel)
	failOnDialogs(t, ctx)
	return ctx
}

// failOnDialogs fails the test if a page opens alert/confirm/prompt: the
// markup-injection test relies on it.
func failOnDialogs(t testing.TB, ctx context.Context) {
	chromedp.ListenTarget(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			t.Errorf("page opened a %s dialog: %q", d.Type, d.Message)
			go func() { _ = chromedp.Run(ctx, page.HandleJavaScriptDialog(true)) }()
		}
	})
}

func run(t testing.TB, ctx context.Context, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// waitJS polls a JavaScript boolean expression until it is true.
func waitJS(t testing.TB, ctx context.Context, expr string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, waitLong)
	defer cancel()
	var ok bool
	if err := chromedp.Run(tctx, chromedp.Poll(expr, &ok, chromedp.WithPollingInterval(5*time.Millisecond))); err != nil {
		var dump string
		_ = chromedp.Run(ctx, chromedp.Evaluate(`document.body ? document.body.innerText.slice(0, 400) : ""`, &dump))
		t.Fatalf("waiting for %s: %v\npage text: %s", expr, err, dump)
	}
}

func evalJS[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	var v T
	run(t, ctx, chromedp.Evaluate(expr, &v))
	return v
}

// waitCart waits until the agent holds a cart for which ok is true.
func waitCart(t testing.TB, a *testAgent, what string, ok func(cart.Cart) bool) cart.Cart {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		c := a.cartOf()
		if ok(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent cart never became %s; last: %+v", what, c)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// displayClient runs the Go display client against the agent and returns
// a function reading its latest view.
func displayClient(t testing.TB, dispAddr string) func() client.View {
	t.Helper()
	c, err := client.New(client.Options{
		Register: register,
		Token:    displayToken,
		Source:   client.Static{URL: "ws://" + dispAddr + "/v1/display"},
		Logger:   testLogger(t),
	})
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return c.View
}

func waitView(t testing.TB, view func() client.View, what string, ok func(client.View) bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !ok(view()) {
		if time.Now().After(deadline) {
			t.Fatalf("Go display client never saw %s; view: %+v", what, view())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func demoURL(a *testAgent) string {
	return fmt.Sprintf("http://%s/demo/#register=%s", a.posAddr, register)
}

func displayURL(a *testAgent) string {
	return fmt.Sprintf("http://%s/display#register=%s&token=%s", a.dispAddr, register, displayToken)
}

func testLogger(t testing.TB) *slog.Logger { return testlog.New(t, slog.LevelWarn) }
