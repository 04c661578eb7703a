package display

import (
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
	detail         *widget.Label
}

func newStatusScreen(e *env) *statusScreen {
	s := &statusScreen{e: e}
	name := label(clean(e.cfg.Store.Name), sizeHeading, fyne.TextAlignCenter, true)
	name.Truncation = fyne.TextTruncateEllipsis
	s.headline = label("", sizeHeading, fyne.TextAlignCenter, true)
	s.headline.Truncation = fyne.TextTruncateEllipsis
	s.help = label("", sizeLine, fyne.TextAlignCenter, false)
	s.help.Truncation = fyne.TextTruncateEllipsis
	s.detail = label("", sizeSmall, fyne.TextAlignCenter, false)
	s.detail.Importance = widget.LowImportance
	s.detail.Truncation = fyne.TextTruncateEllipsis
	logo := newImage(e, e.logo, 96)
	s.root = container.NewVBox(layout.NewSpacer(), container.NewCenter(logo), name, s.headline, s.help, layout.NewSpacer(), s.detail)
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
		return "This display is not paired yet", "Staff: on the register, run  posdisplay-agent pair CODE", widget.MediumImportance
	case client.StatusLive:
		return "Waiting for the register…", "", widget.MediumImportance
	}
	return "Display not ready", "Please ask staff for help.", widget.WarningImportance
}

func (s *statusScreen) show(v client.View) {
	h, help, imp := statusText(v.Status)
	setText(s.headline, h)
	setImportance(s.headline, imp)
	setText(s.help, help)
	s.e.setVisible(s.help, help != "")
	d := clean(v.Err)
	setText(s.detail, d)
	s.e.setVisible(s.detail, d != "")
}
