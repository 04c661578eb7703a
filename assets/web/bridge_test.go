package web_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/posdisplay/posdisplay/register/agent"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// TestBridgeCoalesces: 200 setCart calls in one go reach the agent as a
// handful of messages (one in flight, the latest next), never trip the
// rate limit, and the last cart wins.
func TestBridgeCoalesces(t *testing.T) {
	a := startAgent(t, agentConfig(t, freeAddr(t), freeAddr(t)))
	browser := newBrowser(t)
	run(t, browser, chromedp.Navigate(demoURL(a)))
	waitJS(t, browser, `document.getElementById("conn").dataset.state === "open"`)
	st, _ := a.Stream(register)
	seq0 := st.Position().Seq
	run(t, browser, chromedp.Evaluate(`window.errs = []; posDemo.bridge.on("error", (e) => errs.push(e.code));
		for (let i = 1; i <= 200; i++) {
			posDemo.bridge.setCart({ register: "1", currency: "USD", state: "open",
				lines: [{ id: "a", title: "Tea", quantity: String(i), unit_price: 100, discount: 0, total: 100 * i }],
				subtotal: 100 * i, discount: 0, taxes: [], total: 100 * i });
		}`, nil))
	waitCart(t, a, "the 200th cart", func(c cart.Cart) bool { return len(c.Lines) == 1 && c.Lines[0].Quantity == 200_000 })
	if n := st.Position().Seq - seq0; n > 10 {
		t.Errorf("agent accepted %d changes for 200 rapid setCart calls, want a handful", n)
	}
	if errs := evalJS[[]string](t, browser, `errs`); len(errs) != 0 {
		t.Errorf("bridge errors: got %v, want none", errs)
	}
}

// TestBridgeNeverThrows: bad options and bad calls are reported, never
// thrown into the host page.
func TestBridgeNeverThrows(t *testing.T) {
	a := startAgent(t, agentConfig(t, freeAddr(t), freeAddr(t)))
	browser := newBrowser(t)
	run(t, browser, chromedp.Navigate(demoURL(a)))
	waitJS(t, browser, `document.getElementById("conn").dataset.state === "open"`)
	var got []string
	run(t, browser, chromedp.Evaluate(`(async () => {
		const m = await import("/bridge/pos-bridge.js");
		const codes = [];
		const bad = m.connect({ register: "no spaces allowed" });
		bad.on("error", (e) => codes.push(e.code));
		bad.setCart({ register: "x" }); bad.clear(); bad.onScan(42); bad.on(null, null); bad.off("x", null); bad.close(); bad.close();
		const b = posDemo.bridge;
		b.on("error", (e) => codes.push(e.code));
		b.setCart(null);
		const loop = {}; loop.self = loop;
		b.setCart(loop);
		b.on("state", () => { throw new Error("listener bug"); });
		m.connect(undefined).close();
		return codes;
	})()`, &got, awaitPromise))
	if want := "bad_cart bad_cart"; !strings.HasSuffix(strings.Join(got, " "), want) {
		t.Errorf("error codes: got %v, want them to end with %q", got, want)
	}
	// The real bridge still works.
	run(t, browser, chromedp.Click(`button.product[data-sku="TEA-1"]`, chromedp.ByQuery))
	waitCart(t, a, "the tea line", func(c cart.Cart) bool { return len(c.Lines) == 1 && c.Lines[0].SKU == "TEA-1" })
}

// TestDemoScans: scans from the agent add items on the demo page and are
// acked; a scan re-sent with the same id (its ack lost) is acked again
// without adding the item twice.
func TestDemoScans(t *testing.T) {
	var mu sync.Mutex
	var acks []string
	a := startAgent(t, agentConfig(t, freeAddr(t), freeAddr(t)), func(ag *agent.Agent) {
		ag.Ingest().ScanAcks = func(reg, id string) {
			mu.Lock()
			acks = append(acks, id)
			mu.Unlock()
		}
	})
	browser := newBrowser(t)
	run(t, browser, chromedp.Navigate(demoURL(a)))
	waitJS(t, browser, `document.getElementById("conn").dataset.state === "open"`)
	for _, id := range []string{"s1", "s2", "s1"} {
		code := map[string]string{"s1": "4006381333931", "s2": "5012345678900"}[id]
		if _, err := a.Ingest().SendToPage(register, protocol.Scan{Type: protocol.TypeScan, ID: id, Code: code, Symbology: "ean13", Source: "test", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(waitLong)
	for {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	if got := strings.Join(acks, " "); got != "s1 s2 s1" {
		t.Errorf("acks: got %q, want %q", got, "s1 s2 s1")
	}
	mu.Unlock()
	c := waitCart(t, a, "two scanned lines", func(c cart.Cart) bool { return len(c.Lines) == 2 })
	for _, l := range c.Lines {
		if l.Quantity != 1000 {
			t.Errorf("line %s: quantity %s, want 1 (a re-sent scan must not add twice)", l.ID, l.Quantity)
		}
	}
}

// TestDisplayRejected: a display with a wrong token says so and shows no
// cart.
func TestDisplayRejected(t *testing.T) {
	a := startAgent(t, agentConfig(t, freeAddr(t), freeAddr(t)))
	browser := newBrowser(t)
	run(t, browser, chromedp.Navigate("http://"+a.dispAddr+"/display#register=1&token=wrong-token-0123456789"))
	waitJS(t, browser, `document.body.dataset.status === "rejected" && document.getElementById("status").textContent.includes("not authorized")`)
	if lines := evalJS[int](t, browser, `document.querySelectorAll("#lines .line").length`); lines != 0 {
		t.Errorf("rejected display shows %d lines, want 0", lines)
	}
}

// TestBridgeRetriesScans: a scan the POS cannot take yet is retried in
// place (the agent holds later scans meanwhile) and acked once taken; a
// scan too old to belong to the current sale is given up, never acked.
func TestBridgeRetriesScans(t *testing.T) {
	acks := make(chan string, 8)
	a := startAgent(t, agentConfig(t, freeAddr(t), freeAddr(t)), func(ag *agent.Agent) {
		ag.Ingest().ScanAcks = func(reg, id string) { acks <- id }
	})
	browser := newBrowser(t)
	run(t, browser, chromedp.Navigate(demoURL(a)))
	waitJS(t, browser, `document.getElementById("conn").dataset.state === "open"`)
	run(t, browser, chromedp.Evaluate(`window.calls = {}; window.codes = [];
		posDemo.bridge.on("error", (e) => codes.push(e.code));
		posDemo.bridge.onScan((s) => { calls[s.id] = (calls[s.id] || 0) + 1; return s.id === "busy" && calls[s.id] >= 3; });`, nil))

	send := func(id string, at time.Time) {
		if _, err := a.Ingest().SendToPage(register, protocol.Scan{Type: protocol.TypeScan, ID: id, Code: "4006381333931", Symbology: "ean13", Source: "test", At: at}); err != nil {
			t.Fatal(err)
		}
	}
	send("busy", time.Now())
	select {
	case id := <-acks:
		if id != "busy" {
			t.Fatalf("ack: got %s, want busy", id)
		}
	case <-time.After(waitLong):
		t.Fatal("scan taken on the third try was never acked")
	}
	if n := evalJS[int](t, browser, `calls.busy`); n != 3 {
		t.Errorf("handler calls: got %d, want 3", n)
	}

	send("stale", time.Now().Add(-5*time.Minute))
	waitJS(t, browser, `codes.includes("scan_not_taken")`)
	if n := evalJS[int](t, browser, `calls.stale`); n != 1 {
		t.Errorf("handler calls for a stale scan: got %d, want 1", n)
	}
	select {
	case id := <-acks:
		t.Errorf("stale scan acked: %s", id)
	default:
	}
}
