// Package textclip shortens text that goes to a peer or a log: by runes,
// never inside a UTF-8 sequence, and always returning valid UTF-8. It is
// the one place posdisplay cuts strings; cutting by bytes (s[:n]+"…") can
// split a character and make a WebSocket text frame invalid, which the
// peer answers by dropping the connection.
package textclip

import (
	"strings"
	"unicode/utf8"
)

// Ellipsis marks text that was cut.
const Ellipsis = "…"

// Runes returns s if it has at most n runes, else its first n runes
// followed by Ellipsis. Invalid UTF-8 in s is replaced by U+FFFD (one per run
// of invalid bytes), so the result is always valid UTF-8. n < 0 counts
// as 0.
func Runes(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if n < 0 {
		n = 0
	}
	if len(s) <= n { // n bytes hold at least n runes
		return s
	}
	i := 0
	for count := 0; i < len(s); count++ {
		if count == n {
			return s[:i] + Ellipsis
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s
}

// Bytes returns s if it is at most n bytes long, else the longest prefix
// of whole runes that, with Ellipsis, fits in n bytes. Like Runes, the
// result is always valid UTF-8. It is for limits stated in bytes (a frame
// or a field with a byte budget).
func Bytes(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= n {
		return s
	}
	cut := n - len(Ellipsis)
	if cut < 0 {
		return ""
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + Ellipsis
}
