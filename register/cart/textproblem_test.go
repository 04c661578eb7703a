package cart

import (
	"fmt"
	"testing"
	"unicode"
	"unicode/utf8"
)

// textProblemThreePass is textProblem as it was before it became one pass:
// the reference for FuzzTextProblemAgrees.
func textProblemThreePass(s string, max int) (string, bool) {
	if len(s) > max*4 || utf8.RuneCountInString(s) > max {
		return fmt.Sprintf("at most %d characters", max), true
	}
	if !utf8.ValidString(s) {
		return "must be valid UTF-8", true
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == 0x2028 || r == 0x2029 || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) {
			return fmt.Sprintf("must not contain control characters (U+%04X)", r), true
		}
	}
	return "", false
}

// FuzzTextProblemAgrees: the one-pass check gives the three-pass answer,
// for every string and limit.
func FuzzTextProblemAgrees(f *testing.F) {
	for _, s := range []string{
		"", "Sourdough loaf", "café", "Fish & Chips \U0001F600", "a\tb", "a\x7fb", "\u0085", "\u00a0",
		"\u2028", "\u202a", "\u2066x", "\xff", "ok\xc3", "\xef\xbf\xbd", "x\x00\xff", "\u202e\xff",
		"日本語のテキスト", "a\u2069\x01",
	} {
		for _, max := range []int{0, 1, 2, 5, 64} {
			f.Add(s, max)
		}
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1<<20 {
			return
		}
		gotReason, gotBad := textProblem(s, max)
		wantReason, wantBad := textProblemThreePass(s, max)
		if gotReason != wantReason || gotBad != wantBad {
			t.Errorf("textProblem(%q, %d): got %q %v, want %q %v", s, max, gotReason, gotBad, wantReason, wantBad)
		}
	})
}
