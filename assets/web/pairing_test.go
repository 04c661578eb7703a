package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/posdisplay/posdisplay/register/pairing"
)

const backendToken = "backend-token-0123456789"

// admin calls the agent's admin endpoint as `posdisplay-agent pair` and
// `displays` do, and decodes the answer into out.
func admin(t *testing.T, a *testAgent, stateDir, method, path string, body, out any, want int) {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(stateDir, pairing.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	var rd bytes.Buffer
	if body != nil {
		_ = json.NewEncoder(&rd).Encode(body)
	}
	req, err := http.NewRequest(method, "http://"+a.posAddr+path, &rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d", method, path, res.StatusCode, want)
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// pushCart sets the register's cart through the REST endpoint, as a POS
// backend does.
func pushCart(t *testing.T, a *testAgent, cartJSON string) {
	t.Helper()
	req, err := http.NewRequest("POST", "http://"+a.posAddr+"/v1/registers/"+register+"/cart", strings.NewReader(cartJSON))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+backendToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("pushing a cart: status %d", res.StatusCode)
	}
}

var codeRE = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)

// shownCode waits for the page to show a pairing code other than not and
// returns it.
func shownCode(t *testing.T, ctx context.Context, not string) string {
	t.Helper()
	waitJS(t, ctx, `document.body.dataset.pairing === "code" && document.body.classList.contains("pairing") &&
		getComputedStyle(document.getElementById("screen-pairing")).display === "flex" &&
		document.getElementById("pair-code").textContent !== `+jsString(not))
	code := evalJS[string](t, ctx, `document.getElementById("pair-code").textContent`)
	if !codeRE.MatchString(code) {
		t.Fatalf("page shows code %q, want XXXX-XXXX in Crockford base32", code)
	}
	if cmd := evalJS[string](t, ctx, `document.getElementById("pair-command").textContent`); cmd != "sudo posdisplay-agent pair "+code {
		t.Errorf("page tells store IT to run %q", cmd)
	}
	return code
}

// TestWebDisplayPairsByCode: a fresh page shows a pairing code; store IT
// approves it as `posdisplay-agent pair CODE` does; the page gets its own
// display token, keeps it across a reload, and shows the live cart. Revoked
// with `displays revoke`, it is refused, forgets the token and shows a new
// code.
func TestWebDisplayPairsByCode(t *testing.T) {
	cfg := agentConfig(t, freeAddr(t), freeAddr(t))
	cfg.Display.Tokens = nil // no static token: pairing is the only way in
	cfg.POS.BackendToken = backendToken
	a := startAgent(t, cfg)
	b := newBrowser(t)
	run(t, b, chromedp.Navigate("http://"+a.dispAddr+"/display#name="+url.QueryEscape("Lane 1 tablet")))
	code := shownCode(t, b, "")

	var pending []pairing.PendingInfo
	admin(t, a, cfg.State.Dir, "GET", "/v1/admin/pair", nil, &pending, http.StatusOK)
	if len(pending) != 1 || pending[0].Name != "Lane 1 tablet" {
		t.Errorf("pending requests %+v, want one named Lane 1 tablet", pending)
	}
	var d pairing.ApproveResponse
	admin(t, a, cfg.State.Dir, "POST", "/v1/admin/pair", pairing.ApproveRequest{Code: strings.ToLower(code)}, &d, http.StatusOK)
	if d.Name != "Lane 1 tablet" || d.Register != register || d.Via != "code" {
		t.Errorf("paired display %+v", d)
	}
	waitJS(t, b, `document.body.dataset.status === "live" && document.body.dataset.pairing === "paired" && !document.body.classList.contains("pairing")`)
	token := evalJS[string](t, b, `JSON.parse(localStorage.getItem("posdisplay.display")).token`)
	if id, err := a.Registry().Authorize(token, register); err != nil || id != d.ID {
		t.Fatalf("the page's stored token authorizes %q, %v; want display %s", id, err, d.ID)
	}

	pushCart(t, a, `{"register":"1","currency":"USD","state":"open","lines":[{"id":"a","title":"Paired tea","quantity":1,"unit_price":250,"discount":0,"total":250}],"subtotal":250,"discount":0,"taxes":[],"total":250}`)
	waitJS(t, b, `document.body.classList.contains("screen-cart") && document.querySelector('#lines .line[data-id="a"] .title')?.textContent === "Paired tea"`)

	// A reload (a tablet restarted) goes live on the stored token, no code.
	run(t, b, chromedp.Reload())
	waitJS(t, b, `document.body.dataset.status === "live" && document.querySelector('#lines .line[data-id="a"] .title')?.textContent === "Paired tea"`)
	if p := evalJS[string](t, b, `document.body.dataset.pairing || ""`); p != "" {
		t.Errorf("after a reload with a stored token the page paired again (%q)", p)
	}

	// Revoked: refused, forgotten, and the page reloads to show a new code.
	reloaded := make(chan struct{}, 1)
	chromedp.ListenTarget(b, func(ev any) {
		if _, ok := ev.(*page.EventLoadEventFired); ok {
			select {
			case reloaded <- struct{}{}:
			default:
			}
		}
	})
	admin(t, a, cfg.State.Dir, "DELETE", "/v1/admin/displays/"+d.ID, nil, nil, http.StatusOK)
	select {
	case <-reloaded:
	case <-time.After(waitLong):
		t.Fatal("the revoked page did not start again")
	}
	next := shownCode(t, b, code)
	if got := evalJS[string](t, b, `localStorage.getItem("posdisplay.display") || ""`); got != "" {
		t.Errorf("after revoke the page still stores %q", got)
	}
	if _, err := a.Registry().Authorize(token, register); err == nil {
		t.Error("the revoked token still authorizes")
	}
	// And the new code pairs it again.
	admin(t, a, cfg.State.Dir, "POST", "/v1/admin/pair", pairing.ApproveRequest{Code: next}, &d, http.StatusOK)
	waitJS(t, b, `document.body.dataset.status === "live" && document.querySelector('#lines .line[data-id="a"] .title')?.textContent === "Paired tea"`)

	// The browser lost its token but kept its screen key (storage cleared
	// in part, or a page that stopped before saving): pairing again
	// replaces its entry instead of leaving a stale one in displays list.
	first := d.ID
	run(t, b, chromedp.Evaluate(`localStorage.removeItem("posdisplay.display")`, nil), chromedp.Reload())
	again := shownCode(t, b, "")
	admin(t, a, cfg.State.Dir, "POST", "/v1/admin/pair", pairing.ApproveRequest{Code: again}, &d, http.StatusOK)
	if len(d.Replaced) != 1 || d.Replaced[0].ID != first {
		t.Errorf("pairing the same browser again replaced %+v, want its entry %s", d.Replaced, first)
	}
	waitJS(t, b, `document.body.dataset.status === "live"`)
	if list := a.Registry().List(); len(list) != 1 || list[0].ID != d.ID {
		t.Errorf("displays after pairing the same browser again: %+v, want only %s", list, d.ID)
	}
}
