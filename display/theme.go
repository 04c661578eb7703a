package display

import (
	"fmt"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Size names of the display's own text styles; storeTheme scales them with
// the window like Fyne's own sizes.
const (
	sizeLine     fyne.ThemeSizeName = "posdisplay.line"     // cart lines
	sizeSmall    fyne.ThemeSizeName = "posdisplay.small"    // discounts, notes, tax lines
	sizeHeading  fyne.ThemeSizeName = "posdisplay.heading"  // store name, screen titles
	sizeTotal    fyne.ThemeSizeName = "posdisplay.total"    // the cart total
	sizeFigure   fyne.ThemeSizeName = "posdisplay.figure"   // payment figures
	sizeHeadline fyne.ThemeSizeName = "posdisplay.headline" // "thank you", clock
	sizeCode     fyne.ThemeSizeName = "posdisplay.code"     // the pairing code
)

// Colour names of the display's own roles.
const (
	colorPanel     fyne.ThemeColorName = "posdisplay.panel"
	colorHighlight fyne.ThemeColorName = "posdisplay.highlight"
)

// baseSizes are the sizes at the reference screen, 800×480 landscape, chosen
// to be readable across a counter (about 1 m) on a 7-inch panel.
var baseSizes = map[fyne.ThemeSizeName]float32{
	theme.SizeNameText:               17,
	theme.SizeNameHeadingText:        26,
	theme.SizeNameSubHeadingText:     20,
	theme.SizeNameCaptionText:        12,
	theme.SizeNamePadding:            4,
	theme.SizeNameInnerPadding:       6,
	theme.SizeNameLineSpacing:        4,
	theme.SizeNameSeparatorThickness: 1,
	theme.SizeNameScrollBar:          8,
	theme.SizeNameScrollBarSmall:     4,
	sizeLine:                         18,
	sizeSmall:                        14,
	sizeHeading:                      24,
	sizeTotal:                        38,
	sizeFigure:                       46,
	sizeHeadline:                     56,
	// The pairing code is read by store IT from across the counter, and
	// "3DW2-F7RD" in 72 pt still fits a 600 px wide portrait screen.
	sizeCode: 72,
}

// storeTheme is the store's colours and fonts over Fyne's dark theme, with
// every size multiplied by scale. Fyne reads it on the UI thread only, where
// scale is also written.
type storeTheme struct {
	base          fyne.Theme
	colors        map[fyne.ThemeColorName]color.Color
	regular, bold fyne.Resource
	userScale     float32
	scale         float32
}

func newStoreTheme(c ThemeConfig, regular, bold fyne.Resource) (*storeTheme, error) {
	t := &storeTheme{base: theme.DefaultTheme(), colors: map[fyne.ThemeColorName]color.Color{},
		regular: regular, bold: bold, userScale: float32(c.TextScale), scale: 1}
	if t.userScale == 0 {
		t.userScale = 1
	}
	roles := []struct {
		value string
		names []fyne.ThemeColorName
	}{
		{c.Background, []fyne.ThemeColorName{theme.ColorNameBackground, theme.ColorNameOverlayBackground, theme.ColorNameMenuBackground}},
		{c.Foreground, []fyne.ThemeColorName{theme.ColorNameForeground}},
		{c.Muted, []fyne.ThemeColorName{theme.ColorNameDisabled, theme.ColorNamePlaceHolder}},
		{c.Accent, []fyne.ThemeColorName{theme.ColorNamePrimary, theme.ColorNameFocus}},
		{c.Panel, []fyne.ThemeColorName{colorPanel, theme.ColorNameHeaderBackground, theme.ColorNameInputBackground}},
		{c.Highlight, []fyne.ThemeColorName{colorHighlight, theme.ColorNameSelection, theme.ColorNameHover}},
		{c.Discount, []fyne.ThemeColorName{theme.ColorNameSuccess}},
		{c.Warning, []fyne.ThemeColorName{theme.ColorNameWarning}},
		{c.Error, []fyne.ThemeColorName{theme.ColorNameError}},
	}
	for _, r := range roles {
		col, err := parseColor(r.value)
		if err != nil {
			return nil, fmt.Errorf("%w: theme: %w", ErrConfig, err)
		}
		for _, n := range r.names {
			t.colors[n] = col
		}
	}
	return t, nil
}

// Color returns the store colour for n, or the dark theme's.
func (t *storeTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	if c, ok := t.colors[n]; ok {
		return c
	}
	return t.base.Color(n, theme.VariantDark)
}

// Font returns the store font when one is configured.
func (t *storeTheme) Font(s fyne.TextStyle) fyne.Resource {
	if s.Monospace || s.Symbol {
		return t.base.Font(s)
	}
	if s.Bold && t.bold != nil {
		return t.bold
	}
	if t.regular != nil {
		return t.regular
	}
	return t.base.Font(s)
}

// Icon returns Fyne's icons.
func (t *storeTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return t.base.Icon(n) }

// Size returns a size scaled to the window.
func (t *storeTheme) Size(n fyne.ThemeSizeName) float32 {
	s := t.scale * t.userScale
	if v, ok := baseSizes[n]; ok {
		if n == theme.SizeNameSeparatorThickness {
			return v
		}
		return v * s
	}
	return t.base.Size(n) * s
}

// scaleFor returns the factor that fits the reference layout into a window:
// 1 at 800×480, 2.25 at 1920×1080; portrait windows use the rotated reference.
func scaleFor(size fyne.Size) float32 {
	w, h := size.Width, size.Height
	if w <= 0 || h <= 0 {
		return 1
	}
	rw, rh := float32(800), float32(480)
	if h > w {
		rw, rh = rh, rw
	}
	s := min(w/rw, h/rh)
	return max(0.5, min(s, 4))
}
