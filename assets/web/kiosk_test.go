package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// windowState minimizes or restores the window of the tab in ctx: a
// minimized page is hidden (visibilityState), as a tablet's page is when
// its screen turns off or another app comes to the front.
func windowState(t *testing.T, ctx context.Context, st browser.WindowState) {
	t.Helper()
	run(t, ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		id, _, err := browser.GetWindowForTarget().Do(ctx)
		if err != nil {
			return err
		}
		return browser.SetWindowBounds(id, &browser.Bounds{WindowState: st}).Do(ctx)
	}))
}

// TestWebDisplayWakeLock: the page takes the screen wake lock, the browser
// releases it when the page is hidden, and the page takes it again when it
// is shown; a refused lock is reported, not hidden.
func TestWebDisplayWakeLock(t *testing.T) {
	a := startAgent(t, agentConfig(t, freeAddr(t), freeAddr(t)))
	b := newBrowser(t)
	run(t, b, chromedp.Navigate(displayURL(a)))
	waitJS(t, b, `document.body.dataset.status === "live" && document.body.dataset.wakeLock === "held" && document.body.dataset.wakeLockCount === "1"`)

	windowState(t, b, browser.WindowStateMinimized)
	waitJS(t, b, `document.visibilityState === "hidden" && ["released", "hidden"].includes(document.body.dataset.wakeLock)`)
	windowState(t, b, browser.WindowStateNormal)
	waitJS(t, b, `document.visibilityState === "visible" && document.body.dataset.wakeLock === "held" && document.body.dataset.wakeLockCount === "2"`)

	// Denied (a browser setting, battery saver): the page says so. Another
	// browser: a second tab in this one would be a hidden background tab.
	denied := newBrowser(t)
	run(t, denied, browser.SetPermission(&browser.PermissionDescriptor{Name: "screen-wake-lock"}, browser.PermissionSettingDenied).
		WithOrigin("http://"+a.dispAddr))
	run(t, denied, chromedp.Navigate(displayURL(a)))
	waitJS(t, denied, `document.body.dataset.status === "live" && document.visibilityState === "visible" && document.body.dataset.wakeLock === "refused"`)
}

// TestWebDisplayKiosk: fullscreen needs a gesture in a browser tab, so the
// page says "Tap to go fullscreen" and a tap does it; text cannot be
// selected and the page cannot be zoomed; the manifest makes it
// installable to the home screen.
func TestWebDisplayKiosk(t *testing.T) {
	a := startAgent(t, agentConfig(t, freeAddr(t), freeAddr(t)))
	b := newBrowser(t)
	run(t, b, chromedp.Navigate(displayURL(a)))
	waitJS(t, b, `document.body.dataset.status === "live" && document.body.classList.contains("screen-idle")`)

	// Fullscreen: refused without a gesture, so the hint shows; a tap.
	waitJS(t, b, `document.body.dataset.fullscreen === "needs-gesture" && !document.getElementById("fullscreen-hint").hidden &&
		document.getElementById("fullscreen-hint").textContent === "Tap to go fullscreen" && !document.fullscreenElement`)
	run(t, b, chromedp.Click("#fullscreen-hint", chromedp.ByQuery))
	waitJS(t, b, `document.body.dataset.fullscreen === "on" && document.getElementById("fullscreen-hint").hidden && document.fullscreenElement !== null`)
	run(t, b, chromedp.Evaluate(`document.exitFullscreen()`, nil, chromedp.EvalAsValue))
	waitJS(t, b, `document.body.dataset.fullscreen === "needs-gesture" && !document.getElementById("fullscreen-hint").hidden`)

	// A double tap on text selects nothing.
	run(t, b, chromedp.DoubleClick("#idle-brand", chromedp.ByQuery))
	if sel := evalJS[string](t, b, `String(window.getSelection())`); sel != "" {
		t.Errorf("a double click selected %q, want nothing", sel)
	}
	// No zoom: the viewport forbids it, Ctrl+wheel and Ctrl+plus are
	// cancelled, and a pinch leaves the page at scale 1.
	if vp := evalJS[string](t, b, `document.querySelector('meta[name="viewport"]').content`); vp != "width=device-width, initial-scale=1, maximum-scale=1, user-scalable=no, viewport-fit=cover" {
		t.Errorf("viewport = %q", vp)
	}
	if !evalJS[bool](t, b, `!document.body.dispatchEvent(new WheelEvent("wheel", {ctrlKey: true, deltaY: -100, bubbles: true, cancelable: true}))`) {
		t.Error("Ctrl+wheel was not cancelled")
	}
	if !evalJS[bool](t, b, `!document.body.dispatchEvent(new KeyboardEvent("keydown", {ctrlKey: true, key: "+", bubbles: true, cancelable: true}))`) {
		t.Error("Ctrl++ was not cancelled")
	}

	// The manifest: Chromium parses it without errors, finds the page
	// installable, and the icons it names are served.
	var errs []*page.InstallabilityError
	var manifestURL string
	run(t, b, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		if errs, err = page.GetInstallabilityErrors().Do(ctx); err != nil {
			return err
		}
		manifestURL, _, _, _, err = page.GetAppManifest().Do(ctx)
		return err
	}))
	for _, e := range errs {
		t.Errorf("installability error %s %v", e.ErrorID, e.ErrorArguments)
	}
	if want := "http://" + a.dispAddr + "/display/manifest.json"; manifestURL != want {
		t.Errorf("manifest URL %q, want %q", manifestURL, want)
	}
	res, err := http.Get(manifestURL)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Display string `json:"display"`
		Start   string `json:"start_url"`
		Icons   []struct {
			Src, Sizes, Type string
		} `json:"icons"`
	}
	err = json.NewDecoder(res.Body).Decode(&m)
	res.Body.Close()
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if m.Display != "fullscreen" || m.Start != "/display" || len(m.Icons) == 0 {
		t.Errorf("manifest: display %q start_url %q icons %d, want fullscreen, /display, some", m.Display, m.Start, len(m.Icons))
	}
	for _, ic := range m.Icons {
		r, err := http.Get(fmt.Sprintf("http://%s%s", a.dispAddr, ic.Src))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 || r.Header.Get("Content-Type") != ic.Type {
			t.Errorf("icon %s: %d %q, want 200 %q", ic.Src, r.StatusCode, r.Header.Get("Content-Type"), ic.Type)
		}
	}
}
