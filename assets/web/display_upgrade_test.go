package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestWebDisplayPresentsTokenInUpgrade: the web display sends its token in
// the upgrade request (a subprotocol entry), so the agent checks it before
// upgrading and never counts the page among silent sockets.
func TestWebDisplayPresentsTokenInUpgrade(t *testing.T) {
	a := startAgent(t, agentConfig(t, freeAddr(t), freeAddr(t)))
	b := newBrowser(t)
	run(t, b, chromedp.Navigate(displayURL(a)))
	waitJS(t, b, `document.body.dataset.status === "live"`)
	got := map[string]float64{}
	mfs, err := a.Metrics().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "posdisplay_display_upgrades_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "auth" {
					got[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	if got["upgrade"] < 1 || got["hello"] != 0 {
		t.Errorf("display upgrades by auth = %v, want the web display's token in the upgrade and none in hello only", got)
	}
}
