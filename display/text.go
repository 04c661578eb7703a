package display

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxShown bounds any text from the register before it reaches a widget: a
// label longer than a screen is truncated anyway, and huge strings would cost
// layout time on every frame.
const maxShown = 160

// clean makes text from outside safe to draw on one line: control and
// format characters (newlines, bidi overrides) become spaces or vanish,
// invalid UTF-8 becomes U+FFFD, and the result is at most maxShown runes.
func clean(s string) string { return clipText(s, maxShown) }

func clipText(s string, max int) string {
	if len(s) <= max && isPlain(s) {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == max {
			b.WriteRune('…')
			break
		}
		switch {
		case r == utf8.RuneError:
			r = '\uFFFD'
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			r = ' '
		case unicode.Is(unicode.Cf, r):
			continue
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}
