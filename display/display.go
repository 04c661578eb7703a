package display

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/display/money"
	"github.com/posdisplay/posdisplay/register/cart"
)

// TickInterval is how often Run re-evaluates time-based state (clock, stale
// timer, highlights, promotion rotation): fine enough for a 1.5 s highlight,
// coarse enough to keep an idle screen well under 1% CPU.
const TickInterval = 250 * time.Millisecond

// maxChanged bounds the changed-line ids merged across coalesced updates.
const maxChanged = 64

// Display is the customer display: it owns the window's content and picks
// the screen for each View.
type Display struct {
	app fyne.App
	win fyne.Window
	e   *env
	// now is the display's clock; tests replace it.
	now func() time.Time

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
}

// New builds the screens, applies the store theme to app and sets the
// window's content. It must run on the UI thread (or before the app runs).
func New(app fyne.App, win fyne.Window, cfg Config, log *slog.Logger) (*Display, error) {
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
	d := &Display{app: app, win: win, e: e, now: time.Now}
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
	d.render(d.now())
	return d, nil
}

// Show draws v. It must be called on the UI thread; from any other goroutine
// use Update.
func (d *Display) Show(v client.View) {
	now := d.now()
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
	d.mu.Unlock()
	if schedule {
		fyne.Do(d.flush)
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
// of "thank you", highlights, promotions) until ctx is done. It returns nil
// when ctx ends and leaves no goroutine behind.
func (d *Display) Run(ctx context.Context) error {
	t := time.NewTicker(TickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			fyne.Do(d.Tick)
		}
	}
}

// Tick re-evaluates time-based state now. Run calls it on the UI thread;
// it must run there.
func (d *Display) Tick() {
	now := d.now()
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
		d.status.show(f.v)
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
