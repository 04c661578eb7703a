package textclip_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/posdisplay/posdisplay/register/textclip"
)

func TestRunes(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "abc…"},
		{"ééé", 3, "ééé"},   // 6 bytes, 3 runes: not cut
		{"éééé", 3, "ééé…"}, // a byte cut at 3 would split the second é
		{"日本語テキスト", 2, "日本…"},
		{"a\xffb", 3, "a\uFFFDb"}, // invalid bytes become U+FFFD
		{"a\xffbc", 2, "a\uFFFD…"},
		{"abc", 0, "…"},
		{"abc", -1, "…"},
	}
	for _, tt := range tests {
		if got := textclip.Runes(tt.in, tt.n); got != tt.want {
			t.Errorf("Runes(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestBytes(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcdef", 5, "ab…"}, // "…" is 3 bytes
		{"éééé", 6, "é…"},    // 2+3 fits, 4+3 does not
		{"éééé", 7, "éé…"},
		{"abcdef", 2, ""},
		{"\xff\xff\xff", 3, "\uFFFD"}, // a run of invalid bytes is one U+FFFD
	}
	for _, tt := range tests {
		got := textclip.Bytes(tt.in, tt.n)
		if got != tt.want {
			t.Errorf("Bytes(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
		if len(got) > tt.n {
			t.Errorf("Bytes(%q, %d) = %q, %d bytes, want at most %d", tt.in, tt.n, got, len(got), tt.n)
		}
	}
}

func FuzzClip(f *testing.F) {
	f.Add("éééé", 3)
	f.Add("a\xffb", 1)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n > 1<<16 || n < -1 {
			return
		}
		r := textclip.Runes(s, n)
		if !utf8.ValidString(r) {
			t.Fatalf("Runes(%q, %d) = %q, not valid UTF-8", s, n, r)
		}
		if c := utf8.RuneCountInString(strings.TrimSuffix(r, textclip.Ellipsis)); n >= 0 && c > n {
			t.Fatalf("Runes(%q, %d) = %q, %d runes before the ellipsis", s, n, r, c)
		}
		b := textclip.Bytes(s, n)
		if !utf8.ValidString(b) || len(b) > max(n, 0) && len(s) > n {
			t.Fatalf("Bytes(%q, %d) = %q", s, n, b)
		}
	})
}
