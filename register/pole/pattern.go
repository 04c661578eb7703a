package pole

// TestPattern returns the screens pole-test shows before the cart, for
// store IT checking a newly installed display: every cell lit and the
// columns numbered (a display set to the wrong width or baud shows this
// garbled), then the national characters and an amount, as the display's
// code page and the pole's locale render them.
func (p *Pole) TestPattern() []Screen {
	cp := p.r.CodePage()
	amount := "?"
	if f := p.r.formatter(p.currencyForPattern()); f != nil {
		amount = f.Format(123456)
	}
	return []Screen{
		{fitRow(cp, "posdisplay pole test", ""), fitRow(cp, "12345678901234567890", "")},
		{fitRow(cp, "ÄÖÜ äöü éèç ñ ß €£", ""), fitRow(cp, cp.Name, amount)},
	}
}

// currencyForPattern is the currency shown in the pattern: the euro for
// languages mostly spoken in the euro area, else the dollar; the point is
// the sign's position and the separators, not the currency.
func (p *Pole) currencyForPattern() string {
	switch p.cfg.Locale[:min(2, len(p.cfg.Locale))] {
	case "de", "fr", "it", "es", "nl", "pt", "fi", "el", "sk", "sl", "et", "lv", "lt":
		return "EUR"
	}
	return "USD"
}
