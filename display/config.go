package display

import (
	"errors"
	"fmt"
	"image/color"
	"os"
	"strings"
	"time"

	"github.com/posdisplay/posdisplay/display/money"
)

// Config is what a store can change about its customer display. The zero
// value is not usable; start from DefaultConfig and override.
type Config struct {
	Store  StoreConfig  `toml:"store"`
	Theme  ThemeConfig  `toml:"theme"`
	Idle   IdleConfig   `toml:"idle"`
	Timing TimingConfig `toml:"timing"`
}

// StoreConfig names the store and how it writes money.
type StoreConfig struct {
	// Name is shown on the idle and status screens.
	Name string `toml:"name"`
	// Welcome is the idle screen's greeting.
	Welcome string `toml:"welcome"`
	// ThankYou is the headline after a sale.
	ThankYou string `toml:"thank_you"`
	// Locale is a BCP 47 tag ("de-DE") for number and currency formatting.
	Locale string `toml:"locale"`
	// CurrencyStyle is "symbol", "narrow" or "iso" (see money.SymbolStyle).
	CurrencyStyle string `toml:"currency_style"`
	// SymbolPosition is "", "before" or "after"; empty follows the locale.
	SymbolPosition string `toml:"symbol_position"`
}

// ThemeConfig is the store's look. Colours are "#rrggbb" or "#rrggbbaa".
type ThemeConfig struct {
	Logo       string  `toml:"logo"`       // PNG, JPEG or SVG file; empty: built-in logo
	Font       string  `toml:"font"`       // TTF/OTF file for regular text; empty: Fyne's font
	FontBold   string  `toml:"font_bold"`  // TTF/OTF file for bold text; empty: Font
	Background string  `toml:"background"` // screen background
	Foreground string  `toml:"foreground"` // normal text
	Muted      string  `toml:"muted"`      // secondary text, stale figures
	Accent     string  `toml:"accent"`     // totals, headings
	Panel      string  `toml:"panel"`      // totals panel and header background
	Highlight  string  `toml:"highlight"`  // a line just added or changed
	Discount   string  `toml:"discount"`   // discounts and change due
	Warning    string  `toml:"warning"`    // the stale banner
	Error      string  `toml:"error"`      // rejected/untrusted
	TextScale  float64 `toml:"text_scale"` // multiplies every size; 1 = sized for the window
}

// IdleConfig is the idle screen's content.
type IdleConfig struct {
	// PromoDir holds PNG/JPEG/SVG promotion images, read once at start.
	PromoDir string `toml:"promo_dir"`
	// PromoInterval is how long each promotion stays up.
	PromoInterval time.Duration `toml:"promo_interval"`
	// Clock shows the time of day; ClockFormat is a Go time layout.
	Clock       bool   `toml:"clock"`
	ClockFormat string `toml:"clock_format"`
}

// TimingConfig holds the screen's timers.
type TimingConfig struct {
	// StaleHide is how long a stale cart keeps showing money before the
	// figures are hidden. The stale mark itself appears at once.
	StaleHide time.Duration `toml:"stale_hide"`
	// RestoredHide is how long a cart the register restored after a
	// restart keeps showing money, marked "updating…", before the figures
	// are hidden while its POS has not confirmed it.
	RestoredHide time.Duration `toml:"restored_hide"`
	// ThankYou is how long "thank you" stays before the idle screen.
	ThankYou time.Duration `toml:"thank_you"`
	// Highlight is how long a new or changed line stays highlighted.
	Highlight time.Duration `toml:"highlight"`
	// Cue is how long a cue from the register ("scanning") stays up.
	Cue time.Duration `toml:"cue"`
}

// Default colours: a dark screen reads well from a distance and does not
// glare in a shop; the accent matches the built-in logo.
const (
	defaultBackground = "#11151c"
	defaultForeground = "#f4f6fa"
	defaultMuted      = "#8b95a5"
	defaultAccent     = "#5b9dff"
	defaultPanel      = "#1b212b"
	defaultHighlight  = "#24406b"
	defaultDiscount   = "#4cc38a"
	defaultWarning    = "#f0a43a"
	defaultError      = "#f0605a"
)

// DefaultConfig returns a configuration that works out of the box.
func DefaultConfig() Config {
	return Config{
		Store: StoreConfig{
			Name:          "posdisplay",
			Welcome:       "Welcome!",
			ThankYou:      "Thank you!",
			Locale:        "en-US",
			CurrencyStyle: string(money.StyleSymbol),
		},
		Theme: ThemeConfig{
			Background: defaultBackground, Foreground: defaultForeground, Muted: defaultMuted,
			Accent: defaultAccent, Panel: defaultPanel, Highlight: defaultHighlight,
			Discount: defaultDiscount, Warning: defaultWarning, Error: defaultError,
			TextScale: 1,
		},
		Idle: IdleConfig{PromoInterval: 8 * time.Second, Clock: true, ClockFormat: "15:04"},
		Timing: TimingConfig{
			StaleHide: 3 * time.Second, // a brief Wi-Fi hiccup keeps prices; a real outage hides them
			// A POS page re-sends its cart within a second or two of the
			// agent coming back; a REST backend only on its next change.
			RestoredHide: 5 * time.Second,
			ThankYou:     6 * time.Second,
			Highlight:    1500 * time.Millisecond,
			Cue:          1500 * time.Millisecond,
		},
	}
}

// ErrConfig wraps every configuration error.
var ErrConfig = errors.New("display config")

// maxText bounds configured texts; longer ones are refused, not clipped, so a
// typo shows up at start.
const maxText = 200

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrConfig, key, fmt.Sprintf(format, args...)))
	}
	for key, s := range map[string]string{"store.name": c.Store.Name, "store.welcome": c.Store.Welcome, "store.thank_you": c.Store.ThankYou} {
		if len(s) > maxText {
			bad(key, "longer than %d bytes", maxText)
		}
	}
	if _, err := money.New(c.Store.Locale, "USD", money.Options{Style: money.SymbolStyle(c.Store.CurrencyStyle), Position: money.Position(c.Store.SymbolPosition)}); err != nil {
		bad("store", "%v", err)
	}
	colors := map[string]string{
		"theme.background": c.Theme.Background, "theme.foreground": c.Theme.Foreground, "theme.muted": c.Theme.Muted,
		"theme.accent": c.Theme.Accent, "theme.panel": c.Theme.Panel, "theme.highlight": c.Theme.Highlight,
		"theme.discount": c.Theme.Discount, "theme.warning": c.Theme.Warning, "theme.error": c.Theme.Error,
	}
	for key, s := range colors {
		if _, err := parseColor(s); err != nil {
			bad(key, "%v", err)
		}
	}
	for key, path := range map[string]string{"theme.logo": c.Theme.Logo, "theme.font": c.Theme.Font, "theme.font_bold": c.Theme.FontBold} {
		if path == "" {
			continue
		}
		if st, err := os.Stat(path); err != nil {
			bad(key, "%v", err)
		} else if st.IsDir() || st.Size() > maxAsset {
			bad(key, "%s is a directory or larger than %d bytes", path, maxAsset)
		}
	}
	if c.Theme.TextScale < 0.5 || c.Theme.TextScale > 3 {
		bad("theme.text_scale", "%v is outside 0.5..3", c.Theme.TextScale)
	}
	if c.Idle.PromoDir != "" {
		if st, err := os.Stat(c.Idle.PromoDir); err != nil || !st.IsDir() {
			bad("idle.promo_dir", "%q is not a readable directory", c.Idle.PromoDir)
		}
	}
	if c.Idle.PromoInterval < time.Second || c.Idle.PromoInterval > time.Hour {
		bad("idle.promo_interval", "%v is outside 1s..1h", c.Idle.PromoInterval)
	}
	if c.Idle.Clock && (c.Idle.ClockFormat == "" || len(c.Idle.ClockFormat) > 40) {
		bad("idle.clock_format", "must be a Go time layout such as 15:04")
	}
	for key, d := range map[string]time.Duration{"timing.stale_hide": c.Timing.StaleHide, "timing.thank_you": c.Timing.ThankYou, "timing.restored_hide": c.Timing.RestoredHide,
		"timing.highlight": c.Timing.Highlight, "timing.cue": c.Timing.Cue} {
		if d < 0 || d > 10*time.Minute {
			bad(key, "%v is outside 0..10m", d)
		}
	}
	return errors.Join(errs...)
}

// parseColor reads "#rgb", "#rrggbb" or "#rrggbbaa".
func parseColor(s string) (color.NRGBA, error) {
	h, ok := strings.CutPrefix(strings.TrimSpace(s), "#")
	if !ok {
		return color.NRGBA{}, fmt.Errorf("colour %q must start with #", clipText(s, 16))
	}
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) == 6 {
		h += "ff"
	}
	if len(h) != 8 {
		return color.NRGBA{}, fmt.Errorf("colour %q must be #rgb, #rrggbb or #rrggbbaa", clipText(s, 16))
	}
	var v [4]uint8
	for i := range v {
		hi, ok1 := hexVal(h[2*i])
		lo, ok2 := hexVal(h[2*i+1])
		if !ok1 || !ok2 {
			return color.NRGBA{}, fmt.Errorf("colour %q has a non-hex digit", clipText(s, 16))
		}
		v[i] = hi<<4 | lo
	}
	return color.NRGBA{R: v[0], G: v[1], B: v[2], A: v[3]}, nil
}

func hexVal(c byte) (uint8, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
