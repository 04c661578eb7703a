package display

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/display/money"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/clock"
)

// TickInterval is how often Run re-evaluates time-based state (clock, stale
// timer, highlights, promotion rotation): fine enough for a 1.5 s highlight
// and a 3 s stale limit, coarse enough to cost nothing measurable.
const TickInterval = 250 * time.Millisecond

// maxChanged bounds the changed-line ids merged across coalesced updates.
const maxChanged = 64

// Idle pacing. Fyne's GLFW loop wakes 60 times a second to poll for input
// and look for changes, whether or not anything changed: on its own that is
// about 2% of a core on the 2-core reference machine. A customer screen has
// no input devices and, between sales, changes once a minute (the clock). So
// once no View has arrived for QuietAfter, Run keeps the UI thread in rests
// of up to RestSlice, during which the loop does not tick, with a gap of
// RestGap (longer than a 60 Hz frame) between rests for the loop to poll
// events and draw. Update ends a rest at once, so a scan reaches the screen
// as fast as before; only window-system events wait, for up to RestSlice.
const (
	QuietAfter = 2 * time.Second
	RestSlice  = 250 * time.Millisecond
	RestGap    = 20 * time.Millisecond
)

// Display is the customer display: it owns the window's content and picks
// the screen for each View.
type Display struct {
	app fyne.App
	win fyne.Window
	e   *env
	// clock times everything the screens show and the pacing of the UI
	// thread; tests give a fake one.
	clock clock.Clock

	idle    *idleScreen
	cart    *cartScreen
	payment *paymentScreen
	thanks  *thanksScreen
	status  *statusScreen
	screens []fyne.CanvasObject

	// UI-thread state.
	v          client.View
	fresh      bool // v has not been drawn yet: its Changed ids still count
	current    fyne.CanvasObject
	last       frame
	wasStale   bool
	staleAt    time.Time
	completeAt time.Time
	// completeOrder is the order whose "thank you" started at completeAt.
	completeOrder string
	size          fyne.Size

	// Update's hand-off to the UI thread, coalescing bursts.
	mu        sync.Mutex
	pending   client.View
	scheduled bool
	// lastUpdate is when Update last handed over a View (guarded by mu);
	// wake ends a rest of the UI thread (see RestSlice).
	lastUpdate time.Time
	wake       chan struct{}
	// lastTick is when Tick last ran (UI thread).
	lastTick time.Time
	// quietAfter and restSlice are QuietAfter and RestSlice (tests change them).
	quietAfter, restSlice time.Duration
}

// New builds the screens, applies the store theme to app and sets the
// window's content. It must run on the UI thread (or before the app runs).
func New(app fyne.App, win fyne.Window, cfg Config, log *slog.Logger) (*Display, error) {
	return newDisplay(app, win, cfg, log, nil)
}

// newDisplay is New with the display's clock, nil for the real one. Only
// tests set it (a fake that must time even the first frame), so New has no
// Options to carry it.
func newDisplay(app fyne.App, win fyne.Window, cfg Config, log *slog.Logger, clk clock.Clock) (*Display, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var regular, bold fyne.Resource
	var err error
	if cfg.Theme.Font != "" {
		if regular, err = readAsset(cfg.Theme.Font); err != nil {
			return nil, fmt.Errorf("%w: theme.font: %w", ErrConfig, err)
		}
		bold = regular
	}
	if cfg.Theme.FontBold != "" {
		if bold, err = readAsset(cfg.Theme.FontBold); err != nil {
			return nil, fmt.Errorf("%w: theme.font_bold: %w", ErrConfig, err)
		}
	}
	logo, err := loadLogo(cfg.Theme.Logo)
	if err != nil {
		return nil, fmt.Errorf("%w: theme.logo: %w", ErrConfig, err)
	}
	th, err := newStoreTheme(cfg.Theme, regular, bold)
	if err != nil {
		return nil, err
	}
	e := &env{landscape: true, cfg: cfg, th: th, log: log, logo: logo, formatters: map[string]*money.Formatter{}, badCodes: map[string]bool{}}
	d := &Display{app: app, win: win, e: e, clock: clk, wake: make(chan struct{}, 1), lastUpdate: clk.Now(),
		quietAfter: QuietAfter, restSlice: RestSlice}
	app.Settings().SetTheme(th)

	d.idle = newIdleScreen(e, loadPromos(cfg.Idle.PromoDir, log))
	d.cart = newCartScreen(e)
	d.payment = newPaymentScreen(e)
	d.thanks = newThanksScreen(e)
	d.status = newStatusScreen(e)
	d.screens = []fyne.CanvasObject{d.idle.root, d.cart.root, d.payment.root, d.thanks.root, d.status.root}
	for _, s := range d.screens {
		s.Hide()
	}
	bg := canvas.NewRectangle(th.Color(theme.ColorNameBackground, 0))
	win.SetPadded(false)
	win.SetContent(container.NewStack(append([]fyne.CanvasObject{bg}, d.screens...)...))
	d.v = client.View{Status: client.StatusSearching}
	d.fresh = true
	d.render(d.clock.Now())
	return d, nil
}

// Show draws v. It must be called on the UI thread; from any other goroutine
// use Update.
func (d *Display) Show(v client.View) {
	now := d.clock.Now()
	if v.HasCart && v.Cart.State == cart.StateComplete {
		// "Thank you" runs from the first View of this completed sale.
		if d.completeAt.IsZero() || v.Cart.Order != d.completeOrder {
			d.completeAt, d.completeOrder = now, v.Cart.Order
		}
	} else if v.HasCart {
		d.completeAt, d.completeOrder = time.Time{}, ""
	}
	d.v, d.fresh = v, true
	d.render(now)
}

// Update hands v to the UI thread and returns at once. Views that arrive
// faster than the screen draws are coalesced: the newest wins, and the
// changed-line ids of the skipped ones are kept for highlighting.
func (d *Display) Update(v client.View) {
	d.mu.Lock()
	if d.scheduled {
		v.Changed = mergeChanged(d.pending.Changed, v.Changed)
	}
	d.pending = v
	schedule := !d.scheduled
	d.scheduled = true
	d.lastUpdate = d.clock.Now()
	d.mu.Unlock()
	if schedule {
		fyne.Do(d.flush)
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Display) flush() {
	d.mu.Lock()
	v := d.pending
	d.pending = client.View{}
	d.scheduled = false
	d.mu.Unlock()
	d.Show(v)
}

func mergeChanged(a, b []string) []string {
	if len(a) == 0 {
		return b
	}
	out := make([]string, 0, min(len(a)+len(b), maxChanged))
	for _, id := range append(append([]string(nil), a...), b...) {
		if len(out) == maxChanged {
			break
		}
		out = append(out, id)
	}
	return out
}

// Run drives the time-based parts of the screens (clock, stale timer, end
// of "thank you", highlights, promotions) until ctx is done, and paces the
// UI thread while the screen is quiet (see QuietAfter). It returns nil when
// ctx ends and leaves no goroutine behind.
func (d *Display) Run(ctx context.Context) error {
	t := time.NewTicker(TickInterval)
	defer t.Stop()
	gap := time.NewTimer(RestGap)
	defer gap.Stop()
	rested := false
	for {
		if d.quiet() {
			if !rested {
				// The screen just went quiet after a start or a sale: give
				// the memory that drawing it freed back to the system.
				debug.FreeOSMemory()
				rested = true
			}
			fyne.DoAndWait(func() { d.rest(ctx) })
			gap.Reset(RestGap)
			select {
			case <-ctx.Done():
				return nil
			case <-gap.C:
			}
			continue
		}
		rested = false
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			fyne.Do(d.Tick)
		}
	}
}

// quiet reports whether no View has arrived for QuietAfter.
func (d *Display) quiet() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.clock.Since(d.lastUpdate) >= d.quietAfter
}

// rest runs on the UI thread: it ticks when a tick is due, then holds the
// thread for up to RestSlice, until an Update or the end of ctx.
func (d *Display) rest(ctx context.Context) {
	if ctx.Err() == nil && d.clock.Since(d.lastTick) >= TickInterval {
		d.Tick()
	}
	t := time.NewTimer(d.restSlice)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-d.wake:
	case <-t.C:
	}
}

// Tick re-evaluates time-based state now. Run calls it on the UI thread;
// it must run there.
func (d *Display) Tick() {
	now := d.clock.Now()
	d.lastTick = now
	scr, f := d.decide(now)
	if d.rescaled() || scr != d.current || f.hideMoney != d.last.hideMoney {
		d.render(now)
		return
	}
	switch scr {
	case d.idle.root:
		d.idle.tick(now)
	case d.cart.root:
		d.cart.tick(now)
	case d.status.root:
		d.status.tick(now)
	}
}

// decide picks the screen and builds the frame for the current View.
func (d *Display) decide(now time.Time) (fyne.CanvasObject, frame) {
	v := d.v
	f := frame{v: v, now: now, stale: v.Stale()}
	if f.stale {
		if !d.wasStale {
			// Never earlier than the client says, never in the future.
			d.staleAt = now
			if !v.Since.IsZero() && v.Since.Before(now) && now.Sub(v.Since) < time.Hour {
				d.staleAt = v.Since
			}
			d.wasStale = true
		}
		f.hideMoney = now.Sub(d.staleAt) >= d.e.cfg.Timing.StaleHide
	} else {
		d.wasStale = false
		if v.Restored && v.HasCart {
			// Live, but the register has not confirmed this cart since it
			// restarted: figures shown, marked, hidden after a while.
			f.stale, f.restored = true, true
			at := v.RestoredAt
			if at.IsZero() || at.After(now) || now.Sub(at) > time.Hour {
				at = now
			}
			f.hideMoney = now.Sub(at) >= d.e.cfg.Timing.RestoredHide
		}
	}
	if v.HasCart {
		f.fmt = d.e.formatter(v.Cart.Currency)
		if f.fmt == nil {
			f.hideMoney = true
		}
	}
	switch {
	case v.Status == client.StatusUntrusted || v.Status == client.StatusRejected || !v.HasCart:
		return d.status.root, f
	}
	switch v.Cart.State {
	case cart.StateIdle:
		return d.idle.root, f
	case cart.StatePayment:
		return d.payment.root, f
	case cart.StateComplete:
		if now.Sub(d.completeAt) < d.e.cfg.Timing.ThankYou {
			return d.thanks.root, f
		}
		return d.idle.root, f
	}
	return d.cart.root, f
}

// render draws the current View on the screen decide picks.
func (d *Display) render(now time.Time) {
	d.rescaled()
	scr, f := d.decide(now)
	if !d.fresh {
		f.v.Changed = nil
	}
	entered := scr != d.current
	switch scr {
	case d.idle.root:
		note := ""
		if f.stale {
			note, _, _ = statusText(f.v.Status)
		}
		d.idle.show(now, note)
	case d.cart.root:
		d.cart.show(f, entered)
	case d.payment.root:
		d.payment.show(f)
	case d.thanks.root:
		d.thanks.show(f)
	case d.status.root:
		d.status.show(f.v, now)
	}
	if entered {
		for _, s := range d.screens {
			d.e.setVisible(s, s == scr)
		}
		d.current = scr
	}
	d.e.relayoutIfDirty(scr)
	d.last, d.fresh = f, false
}

// rescaled follows the window size: sizes scale with the screen. It
// reports whether the scale changed.
func (d *Display) rescaled() bool {
	size := d.win.Canvas().Size()
	if size == d.size || size.Width <= 0 || size.Height <= 0 {
		return false
	}
	d.size = size
	if land := size.Width >= size.Height; land != d.e.landscape {
		d.e.landscape = land
		d.e.dirty = true
	}
	s := scaleFor(size)
	if s == d.e.th.scale {
		return false
	}
	d.e.th.scale = s
	d.e.rescale()
	d.app.Settings().SetTheme(d.e.th)
	d.cart.measure()
	return true
}
