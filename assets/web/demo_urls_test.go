package web_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/posdisplay/posdisplay/register/testenv"
)

// TestDemoURLs opens every URL a running `make demo` printed (read from the
// out/demo/urls.env file it writes, named by PD_DEMO_URLS) and checks that
// each one is live: health and metrics answer from the demo's own agent, the
// demo cashier page connects to its register, and a sale rung up there by
// hand appears on the web display (in its theme, newest line in view) and
// on the customer screen's connection. .ci/demo-check.sh runs it against
// `MANUAL=1 make demo` with the default ports taken by another agent.
func TestDemoURLs(t *testing.T) {
	path := os.Getenv("PD_DEMO_URLS")
	if path == "" {
		testenv.OptIn(t, "PD_DEMO_URLS is not set (.ci/demo-check.sh runs it against a live make demo)")
	}
	urls := readEnvFile(t, path)
	if urls["DEMO_MANUAL"] == "" {
		t.Fatalf("%s: run the demo with MANUAL=1 so that the test rings up the sale", path)
	}

	var health struct {
		Status    string
		Epoch     string
		Registers map[string]struct{ Displays int }
	}
	if err := json.Unmarshal(get(t, urls["DEMO_HEALTH_URL"]), &health); err != nil {
		t.Fatalf("%s: %v", urls["DEMO_HEALTH_URL"], err)
	}
	if health.Status != "ok" || health.Epoch != urls["DEMO_EPOCH"] {
		t.Fatalf("%s: status %q epoch %q, want ok and the demo agent's epoch %q",
			urls["DEMO_HEALTH_URL"], health.Status, health.Epoch, urls["DEMO_EPOCH"])
	}
	if m := string(get(t, urls["DEMO_METRICS_URL"])); !strings.Contains(m, "posdisplay_") {
		t.Errorf("%s: no posdisplay_ metric in %.200q", urls["DEMO_METRICS_URL"], m)
	}

	cashier := newBrowser(t)
	display := newTab(t, cashier)
	run(t, cashier, chromedp.Navigate(urls["DEMO_CASHIER_URL"]))
	waitJS(t, cashier, `document.getElementById("conn").dataset.state === "open"`)
	// A small tablet in landscape: six lines overflow the list.
	run(t, display, chromedp.EmulateViewport(480, 320), chromedp.Navigate(urls["DEMO_DISPLAY_URL"]))
	waitJS(t, display, `document.body.dataset.status === "live"`)

	skus := evalJS[[]string](t, cashier, `[...document.querySelectorAll("button.product")].map(b => b.dataset.sku)`)
	if len(skus) < 5 {
		t.Fatalf("the demo cashier page offers %d products, want at least 5", len(skus))
	}
	for _, sku := range skus {
		run(t, cashier, chromedp.Click(`button.product[data-sku="`+sku+`"]`, chromedp.ByQuery))
		waitJS(t, display, `!!document.querySelector('#lines .line[data-id="`+sku+`"]')`)
	}
	total := evalJS[string](t, cashier, `document.getElementById("total").textContent`)
	waitJS(t, display, `document.getElementById("total").textContent === `+jsString(total))

	// The list overflows: the newest line is in view, the scrollbar is the theme's.
	newest := skus[len(skus)-1]
	// The tablet shows the display in front (a background tab gets no
	// animation frames, with which the display scrolls).
	run(t, display, page.BringToFront())
	waitJS(t, display, `(() => {
		const ol = document.getElementById("lines"), li = ol.querySelector('.line[data-id="`+newest+`"]');
		const a = ol.getBoundingClientRect(), b = li.getBoundingClientRect();
		return ol.scrollHeight > ol.clientHeight && b.top >= a.top - 1 && b.bottom <= a.bottom + 1;
	})()`)
	if c := evalJS[string](t, display, `getComputedStyle(document.getElementById("lines")).scrollbarColor`); c == "" || c == "auto" {
		t.Errorf("the line list's scrollbar-color is %q: the platform's scrollbar on the dark theme", c)
	}

	// Both displays follow the demo's own agent: the web display and the
	// customer screen (posdisplay-screen) are its two subscribers.
	deadline := time.Now().Add(waitLong)
	for {
		if err := json.Unmarshal(get(t, urls["DEMO_HEALTH_URL"]), &health); err != nil {
			t.Fatal(err)
		}
		if health.Registers["1"].Displays >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("register 1 has %d displays, want the web display and the customer screen", health.Registers["1"].Displays)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Pay and complete: the change reaches the display.
	run(t, cashier, chromedp.Click(`#pay`, chromedp.ByQuery))
	waitJS(t, display, `document.body.classList.contains("screen-payment")`)
	run(t, cashier, chromedp.SetValue(`#tendered`, "100.00", chromedp.ByQuery), chromedp.Click(`#tender`, chromedp.ByQuery))
	change := ""
	waitJS(t, cashier, `document.getElementById("change").textContent !== ""`)
	change = evalJS[string](t, cashier, `document.getElementById("change").textContent`)
	waitJS(t, display, `document.getElementById("pay-change").textContent === `+jsString(change))
	t.Logf("demo URLs live; sale of %d lines, total %s, change %s shown on the web display", len(skus), total, change)
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	// No keep-alive: the package's leak check counts idle transport goroutines.
	c := http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return b
}

// readEnvFile reads the KEY='value' lines that .ci/demo.sh writes.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok {
			m[k] = strings.Trim(v, "'")
		}
	}
	return m
}
