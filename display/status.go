package display

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/posdisplay/posdisplay/display/client"
)

// statusScreen stands in for the cart while there is no trustworthy cart to
// show: searching for the register, connecting, reconnecting without a
// cart, or refused (untrusted, rejected). It shows no money at all.
type statusScreen struct {
	e              *env
	root           fyne.CanvasObject
	headline, help *widget.Label
	// code is the pairing code, the biggest text on the pairing screen:
	// store IT reads it from across the counter.
	code   *widget.Label
	detail *widget.Label
	codes  []client.PairingCode // on offer, for tick
}

func newStatusScreen(e *env) *statusScreen {
	s := &statusScreen{e: e}
	name := label(clean(e.cfg.Store.Name), sizeHeading, fyne.TextAlignCenter, true)
	name.Truncation = fyne.TextTruncateEllipsis
	s.headline = label("", sizeHeading, fyne.TextAlignCenter, true)
	s.headline.Truncation = fyne.TextTruncateEllipsis
	s.help = label("", sizeLine, fyne.TextAlignCenter, false)
	s.help.Wrapping = fyne.TextWrapWord // the pairing command must be read whole
	s.code = label("", sizeCode, fyne.TextAlignCenter, true)
	s.code.Truncation = fyne.TextTruncateEllipsis
	s.detail = label("", sizeSmall, fyne.TextAlignCenter, false)
	s.detail.Importance = widget.LowImportance
	s.detail.Truncation = fyne.TextTruncateEllipsis
	logo := newImage(e, e.logo, 96)
	s.root = container.NewVBox(layout.NewSpacer(), container.NewCenter(logo), name, s.headline, s.code, s.help, layout.NewSpacer(), s.detail)
	return s
}

// statusText is the customer-facing wording for each connection state.
func statusText(st client.Status) (headline, help string, imp widget.Importance) {
	switch st {
	case client.StatusSearching:
		return "Looking for the register…", "This screen will show your items as they are scanned.", widget.MediumImportance
	case client.StatusConnecting:
		return "Connecting to the register…", "", widget.MediumImportance
	case client.StatusReconnecting:
		return "Reconnecting to the register…", "Please check prices with the cashier.", widget.WarningImportance
	case client.StatusUntrusted:
		return "Display not paired with this register", "Please ask staff for help.", widget.DangerImportance
	case client.StatusRejected:
		return "Display not accepted by the register", "Please ask staff for help.", widget.DangerImportance
	case client.StatusPairing:
		// No code yet: no register in reach. Without mDNS across the
		// network, store IT sets the fallback address.
		return "This display is not paired yet", "Staff: a pairing code appears here once a register is found (none? set fallback in /etc/posdisplay/screen.toml)", widget.MediumImportance
	case client.StatusLive:
		return "Waiting for the register…", "", widget.MediumImportance
	}
	return "Display not ready", "Please ask staff for help.", widget.WarningImportance
}

func (s *statusScreen) show(v client.View, now time.Time) {
	h, help, imp := statusText(v.Status)
	d := clean(v.Err)
	code := ""
	s.codes = nil
	if v.Status == client.StatusPairing && len(v.Codes) > 0 {
		s.codes = v.Codes
		c := v.Codes[0]
		code = clean(c.Code)
		h = "Pair this display with " + clean(c.Register)
		help = "Staff: on the register, run  posdisplay-agent pair " + code
		d = pairingDetail(v.Codes, now)
	}
	setText(s.headline, h)
	setImportance(s.headline, imp)
	setText(s.code, code)
	s.e.setVisible(s.code, code != "")
	setText(s.help, help)
	s.e.setVisible(s.help, help != "")
	setText(s.detail, d)
	s.e.setVisible(s.detail, d != "")
}

// tick keeps the pairing code's remaining time current.
func (s *statusScreen) tick(now time.Time) {
	if len(s.codes) > 0 {
		setText(s.detail, pairingDetail(s.codes, now))
	}
}

// pairingDetail is the small line under a pairing code: how long the code
// stays valid, and the codes for other registers in view.
func pairingDetail(codes []client.PairingCode, now time.Time) string {
	var b strings.Builder
	switch left := codes[0].Expires.Sub(now); {
	case codes[0].Expires.IsZero():
	case left <= 0:
		b.WriteString("Code expired; a new one follows")
	default:
		fmt.Fprintf(&b, "Code valid for %d more min", int((left+time.Minute-1)/time.Minute))
	}
	for _, c := range codes[1:] {
		if b.Len() > 0 {
			b.WriteString("  ·  ")
		}
		fmt.Fprintf(&b, "%s: %s", c.Register, c.Code)
	}
	return clean(b.String())
}
