package display

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"go.uber.org/goleak"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/register/cart"
)

// goldenSizes are the two sizes every screen's markup is pinned at.
var goldenSizes = []fyne.Size{{Width: 800, Height: 480}, {Width: 600, Height: 1024}}

// TestGolden pins the rendered markup of every screen and state at two
// sizes. Refresh with `go test ./display -run TestGolden -update` (amd64).
func TestGolden(t *testing.T) {
	for _, size := range goldenSizes {
		for _, sc := range scenes() {
			name := fmt.Sprintf("%s-%dx%d", sc.name, int(size.Width), int(size.Height))
			t.Run(name, func(t *testing.T) {
				cfg := testConfig()
				if sc.cfg != nil {
					sc.cfg(&cfg)
				}
				d, w, clock := newTestDisplay(t, size, cfg)
				d.Show(sc.view())
				if sc.after > 0 {
					clock.Advance(sc.after)
					d.Tick()
				}
				file := filepath.Join("screens", name+".xml")
				if *update {
					writeGolden(t, file, test.RenderToMarkup(w.Canvas()))
					return
				}
				test.AssertRendersToMarkup(t, file, w.Canvas())
			})
		}
	}
}

func writeGolden(t *testing.T, name, markup string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(markup), 0o644); err != nil {
		t.Fatal(err)
	}
}

// screenName says which screen d shows, for test messages.
func screenName(d *Display) string {
	switch d.current {
	case d.idle.root:
		return "idle"
	case d.cart.root:
		return "cart"
	case d.payment.root:
		return "payment"
	case d.thanks.root:
		return "thanks"
	case d.status.root:
		return "status"
	}
	return "none"
}

func TestScreenSelection(t *testing.T) {
	withState := func(s cart.State) cart.Cart {
		c := sampleCart()
		c.State = s
		return c
	}
	tests := []struct {
		name string
		view client.View
		want string
	}{
		{"zero view", client.View{}, "status"},
		{"searching", client.View{Status: client.StatusSearching}, "status"},
		{"connecting", client.View{Status: client.StatusConnecting}, "status"},
		{"live without cart", client.View{Status: client.StatusLive}, "status"},
		{"reconnecting without cart", client.View{Status: client.StatusReconnecting}, "status"},
		{"idle", live(withState(cart.StateIdle)), "idle"},
		{"open", live(withState(cart.StateOpen)), "cart"},
		{"payment", live(paymentCart()), "payment"},
		{"payment without payment block", live(withState(cart.StatePayment)), "payment"},
		{"complete", live(completeCart()), "thanks"},
		{"unknown state", live(withState("weird")), "cart"},
		{"stale open cart", func() client.View { v := live(sampleCart()); v.Status = client.StatusReconnecting; return v }(), "cart"},
		{"stale idle", func() client.View { v := live(cart.Empty("r", "USD")); v.Status = client.StatusReconnecting; return v }(), "idle"},
		{"untrusted with cart", func() client.View { v := live(sampleCart()); v.Status = client.StatusUntrusted; return v }(), "status"},
		{"rejected with cart", func() client.View { v := live(sampleCart()); v.Status = client.StatusRejected; return v }(), "status"},
	}
	d, _, _ := newTestDisplay(t, fyne.NewSize(800, 480), testConfig())
	for _, tt := range tests {
		d.Show(tt.view)
		if got := screenName(d); got != tt.want {
			t.Errorf("%s: screen = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestStaleTiming drives the stale rules with the fake clock: the mark
// appears at once, the figures go at StaleHide, and both clear when live.
func TestStaleTiming(t *testing.T) {
	d, _, clock := newTestDisplay(t, fyne.NewSize(800, 480), testConfig())
	c := sampleCart()
	d.Show(live(c))
	total := "$43.39"
	check := func(step string, wantBanner bool, wantTotal string) {
		t.Helper()
		if got := d.cart.banner.root.Visible(); got != wantBanner {
			t.Errorf("%s: stale banner visible = %v, want %v", step, got, wantBanner)
		}
		if got := d.cart.totalValue.Text; got != wantTotal {
			t.Errorf("%s: total = %q, want %q", step, got, wantTotal)
		}
	}
	check("live", false, total)

	v := live(c)
	v.Status, v.Since = client.StatusReconnecting, clock.Now()
	d.Show(v)
	check("just interrupted", true, total)
	clock.Advance(2999 * time.Millisecond)
	d.Tick()
	check("2.999 s stale", true, total)
	clock.Advance(time.Millisecond)
	d.Tick()
	check("3 s stale", true, hidden)

	// Flapping through connecting keeps the original stale start.
	v.Status, v.Since = client.StatusConnecting, clock.Now()
	d.Show(v)
	check("still down, new status", true, hidden)

	d.Show(live(c))
	check("live again", false, total)

	// A client that says it has been stale for a while hides figures at once.
	v.Status, v.Since = client.StatusReconnecting, clock.Now().Add(-10*time.Second)
	d.Show(v)
	check("stale for 10 s already", true, hidden)
	d.Show(live(c))

	// A Since in the future or zero counts from when the display saw it.
	for _, since := range []time.Time{{}, clock.Now().Add(time.Hour)} {
		v.Status, v.Since = client.StatusReconnecting, since
		d.Show(v)
		check(fmt.Sprintf("since %v", since), true, total)
		clock.Advance(3 * time.Second)
		d.Tick()
		check(fmt.Sprintf("since %v + 3 s", since), true, hidden)
		d.Show(live(c))
	}
}

// A cart restored by the register after a restart is marked "updating…" at
// once, keeps its figures until RestoredHide, then hides them; a delta from
// the POS (the view no longer restored) makes it live.
func TestRestoredTiming(t *testing.T) {
	cfg := testConfig()
	d, _, clock := newTestDisplay(t, fyne.NewSize(800, 480), cfg)
	c := sampleCart()
	total := "$43.39"
	check := func(step string, wantBanner bool, wantText, wantTotal string) {
		t.Helper()
		if got := d.cart.banner.root.Visible(); got != wantBanner {
			t.Errorf("%s: banner visible = %v, want %v", step, got, wantBanner)
		}
		if got := d.cart.banner.text.Text; wantBanner && got != wantText {
			t.Errorf("%s: banner = %q, want %q", step, got, wantText)
		}
		if got := d.cart.totalValue.Text; got != wantTotal {
			t.Errorf("%s: total = %q, want %q", step, got, wantTotal)
		}
	}
	v := live(c)
	v.Restored, v.RestoredAt = true, clock.Now()
	d.Show(v)
	check("restored", true, "Updating…", total)
	clock.Advance(cfg.Timing.RestoredHide - time.Millisecond)
	d.Tick()
	check("just before the limit", true, "Updating…", total)
	clock.Advance(time.Millisecond)
	d.Tick()
	check("at the limit", true, "Updating… · amounts hidden", hidden)
	d.Show(live(c))
	check("confirmed", false, "", total)
}

func TestStaleHidesPaymentFigures(t *testing.T) {
	d, _, clock := newTestDisplay(t, fyne.NewSize(800, 480), testConfig())
	v := live(paymentCart())
	d.Show(v)
	if got, want := d.payment.change.value.Text, "$16.61"; got != want {
		t.Fatalf("change = %q, want %q", got, want)
	}
	v.Status, v.Since = client.StatusReconnecting, clock.Now()
	d.Show(v)
	clock.Advance(3 * time.Second)
	d.Tick()
	for name, got := range map[string]string{"due": d.payment.due.value.Text, "tendered": d.payment.tendered.value.Text, "change": d.payment.change.value.Text} {
		if got != hidden {
			t.Errorf("%s after 3 s stale = %q, want %q", name, got, hidden)
		}
	}
}

func TestThankYouReturnsToIdle(t *testing.T) {
	d, _, clock := newTestDisplay(t, fyne.NewSize(800, 480), testConfig())
	d.Show(live(completeCart()))
	if got := screenName(d); got != "thanks" {
		t.Fatalf("screen = %s, want thanks", got)
	}
	clock.Advance(5 * time.Second)
	d.Show(live(completeCart())) // a repeat of the same sale does not restart the timer
	clock.Advance(999 * time.Millisecond)
	d.Tick()
	if got := screenName(d); got != "thanks" {
		t.Errorf("after 5.999 s: screen = %s, want thanks", got)
	}
	clock.Advance(time.Millisecond)
	d.Tick()
	if got := screenName(d); got != "idle" {
		t.Errorf("after 6 s: screen = %s, want idle", got)
	}
	next := completeCart()
	next.Order = "o-1002"
	d.Show(live(next))
	if got := screenName(d); got != "thanks" {
		t.Errorf("next sale completed: screen = %s, want thanks", got)
	}
}

func TestHighlightEnds(t *testing.T) {
	d, _, clock := newTestDisplay(t, fyne.NewSize(800, 480), testConfig())
	d.Show(live(sampleCart(), "l5"))
	if _, ok := d.cart.highlight["l5"]; !ok {
		t.Fatalf("line l5 not highlighted after a delta that changed it")
	}
	d.Tick() // a tick must not re-arm the highlight
	clock.Advance(1500 * time.Millisecond)
	d.Tick()
	if got := len(d.cart.highlight); got != 0 {
		t.Errorf("highlights after 1.5 s = %d, want 0", got)
	}
}

func TestCueShownBriefly(t *testing.T) {
	d, _, clock := newTestDisplay(t, fyne.NewSize(800, 480), testConfig())
	v := live(sampleCart())
	v.Cue, v.CueAt = "scanning", clock.Now()
	d.Show(v)
	if got, want := d.cart.cue.Text, "Scanning…"; got != want {
		t.Errorf("cue = %q, want %q", got, want)
	}
	clock.Advance(1500 * time.Millisecond)
	d.Tick()
	if got := d.cart.cue.Text; got != "" {
		t.Errorf("cue after 1.5 s = %q, want empty", got)
	}
}

func TestMoneyByCurrency(t *testing.T) {
	tests := []struct {
		locale, currency string
		total            cart.Money
		want             string
	}{
		{"en-US", "USD", 123456, "$1,234.56"},
		{"de-DE", "EUR", 123456, "1.234,56\u00a0€"},
		{"ja-JP", "JPY", 1235, "¥1,235"},
		{"en-US", "BHD", 1234567, "BHD\u00a01,234.567"},
		{"en-US", "ZZZ", 100, hidden},   // unknown currency: never guess the minor digits
		{"en-US", "", 100, hidden},      // missing currency
		{"en-US", "usd\n", 100, hidden}, // garbage
	}
	for _, tt := range tests {
		cfg := testConfig()
		cfg.Store.Locale = tt.locale
		d, _, _ := newTestDisplay(t, fyne.NewSize(800, 480), cfg)
		c := sampleCart()
		c.Currency, c.Total = tt.currency, tt.total
		d.Show(live(c))
		if got := d.cart.totalValue.Text; got != tt.want {
			t.Errorf("%s/%q total = %q, want %q", tt.locale, tt.currency, got, tt.want)
		}
	}
}

// TestHostileData shows carts no register should send; the display must
// draw them without panicking and without overlapping prices.
func TestHostileData(t *testing.T) {
	carts := map[string]cart.Cart{
		"hostile": hostileCart(),
		"500":     bigCart(500),
		"empty":   {},
		"nil-pay": {Currency: "USD", State: cart.StatePayment},
		"neg-pay": {Currency: "USD", State: cart.StateComplete, Payment: &cart.Payment{Due: -1, Tendered: -5, Change: -cart.MaxMoney}},
		"jpy":     {Currency: "JPY", State: cart.StateOpen, Lines: []cart.Line{line("a", "x", 1, 1)}},
		"bhd":     {Currency: "BHD", State: cart.StateOpen, Lines: []cart.Line{line("a", "x", 1, 1)}},
		"dup-ids": {Currency: "USD", State: cart.StateOpen, Lines: []cart.Line{line("a", "x", 1, 1), line("a", "y", 1, 1)}},
		"min-int": {Currency: "USD", State: cart.StateOpen, Total: -1 << 63, Lines: []cart.Line{{ID: "a", UnitPrice: -1 << 63, Total: -1 << 63, Discount: -1 << 63, Quantity: -1 << 63}}},
	}
	for _, size := range []fyne.Size{{Width: 800, Height: 480}, {Width: 600, Height: 1024}} {
		for name, c := range carts {
			d, w, _ := newTestDisplay(t, size, testConfig())
			v := live(c, "a", "l499", "missing")
			d.Show(v)
			d.Tick()
			_ = w.Canvas().Capture() // draws every visible row
			if d.current == d.cart.root {
				assertNoOverlap(t, name, d)
			}
		}
	}
}

// assertNoOverlap checks that in every visible row the title ends before the
// prices start.
func assertNoOverlap(t *testing.T, name string, d *Display) {
	t.Helper()
	var checked int
	walkRows(d, func(r *lineRow) {
		checked++
		titleEnd := r.title.Position().X + r.title.Size().Width
		priceStart := r.total.Position().X
		if r.unit.Visible() {
			priceStart = r.unit.Position().X
		}
		if titleEnd > priceStart+0.5 {
			t.Errorf("%s: title %q ends at %v, after the prices start at %v", name, r.title.Text, titleEnd, priceStart)
		}
		if r.total.Size().Width+0.5 < r.total.MinSize().Width {
			t.Errorf("%s: total %q squeezed to %v < %v", name, r.total.Text, r.total.Size().Width, r.total.MinSize().Width)
		}
	})
	if len(d.cart.lines) > 0 && checked == 0 {
		t.Errorf("%s: no rows rendered for %d lines", name, len(d.cart.lines))
	}
}

// walkRows calls fn for every list row currently laid out.
func walkRows(d *Display, fn func(*lineRow)) {
	for _, o := range test.LaidOutObjects(d.cart.list.box) {
		if c, ok := o.(*fyne.Container); ok {
			if rl, ok := c.Layout.(*rowLayout); ok && c.Visible() {
				fn(rl.r)
			}
		}
	}
}

func TestUpdateCoalescesChanged(t *testing.T) {
	got := mergeChanged([]string{"a", "b"}, []string{"c"})
	if want := []string{"a", "b", "c"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("mergeChanged = %v, want %v", got, want)
	}
	many := make([]string, 100)
	if got := len(mergeChanged(many, many)); got != maxChanged {
		t.Errorf("len(mergeChanged(100, 100)) = %d, want %d", got, maxChanged)
	}
}

func TestUpdateFromGoroutine(t *testing.T) {
	d, _, _ := newTestDisplay(t, fyne.NewSize(800, 480), testConfig())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Update(live(sampleCart(), "l1"))
	}()
	<-done
	if got := screenName(d); got != "cart" {
		t.Errorf("screen after Update = %s, want cart", got)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, _, _ := newTestDisplay(t, fyne.NewSize(800, 480), testConfig())
		ignore := goleak.IgnoreCurrent()
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- d.Run(ctx) }()
		time.Sleep(2 * TickInterval) // fake time: two ticks are due
		synctest.Wait()
		if d.lastTick.IsZero() {
			t.Errorf("Run did not tick in %v", 2*TickInterval)
		}
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		goleak.VerifyNone(t, ignore)
	})
}

// A rest of the UI thread ends as soon as a View arrives, however long the
// slice, so pacing an idle screen never delays a scan.
func TestRestEndsOnUpdate(t *testing.T) {
	d, _, _ := newTestDisplay(t, fyne.NewSize(800, 480), testConfig())
	d.restSlice = time.Hour
	d.lastTick = d.clock.Now() // no tick inside the rest: this test is about waking
	rested := make(chan struct{})
	go func() { defer close(rested); d.rest(context.Background()) }()
	d.Update(live(sampleCart(), "l1"))
	select {
	case <-rested:
	case <-time.After(10 * time.Second):
		t.Fatal("an Update did not end the rest")
	}
	if got := screenName(d); got != "cart" {
		t.Errorf("screen after Update = %s, want cart", got)
	}
}

func TestRestEndsWithContext(t *testing.T) {
	d, _, _ := newTestDisplay(t, fyne.NewSize(800, 480), testConfig())
	d.restSlice = time.Hour
	d.lastTick = d.clock.Now()
	ctx, cancel := context.WithCancel(context.Background())
	rested := make(chan struct{})
	go func() { defer close(rested); d.rest(ctx) }()
	cancel()
	select {
	case <-rested:
	case <-time.After(10 * time.Second):
		t.Fatal("the end of ctx did not end the rest")
	}
}

func TestQuietFollowsUpdates(t *testing.T) {
	d, _, _ := newTestDisplay(t, fyne.NewSize(800, 480), testConfig())
	d.quietAfter = time.Hour
	if d.quiet() {
		t.Error("quiet right after start: the first frames would wait for rests")
	}
	d.quietAfter = 0
	if !d.quiet() {
		t.Error("not quiet after QuietAfter without a View")
	}
	d.quietAfter = time.Hour
	d.Update(live(sampleCart()))
	if d.quiet() {
		t.Error("quiet right after an Update")
	}
}
