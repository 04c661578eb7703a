package pole

import (
	"bytes"

	"golang.org/x/text/unicode/norm"
)

// Width and Rows are the size of the displays this package drives: every
// CD5220 and Epson DM-D pole display is two rows of twenty cells.
const (
	Width = 20
	Rows  = 2
)

// Screen is what the customer sees: two rows of exactly Width cells, in
// the display's code page.
type Screen [Rows][Width]byte

// Text returns the screen as two lines of text in cp, for logs and tests.
func (s Screen) Text(cp *CodePage) [Rows]string {
	var out [Rows]string
	for i, row := range s {
		rs := make([]rune, Width)
		for j, b := range row {
			rs[j] = cp.Decode(b)
		}
		out[i] = string(rs)
	}
	return out
}

// overflow fills an amount that does not fit: the customer sees that a
// figure is there but never a shortened, wrong one.
const overflow = '*'

// encodeText encodes s into cp, one run of cells per character: composed
// first (NFC), so that "e" + U+0301 is the é the code page may have.
func encodeText(cp *CodePage, s string) [][]byte {
	var out [][]byte
	for _, r := range norm.NFC.String(s) {
		if b := cp.Encode(r); len(b) > 0 {
			out = append(out, b)
		}
	}
	return out
}

// fitRow lays out one row: left is cut to what fits, by whole characters
// (a character spelled with several cells, € as EUR, is kept whole or
// left out); right is right-aligned and never cut: when it does not fit
// beside a space, the row is the right part alone, and when it does not
// fit at all the row is filled with '*'.
func fitRow(cp *CodePage, left, right string) [Width]byte {
	var row [Width]byte
	for i := range row {
		row[i] = ' '
	}
	r := bytes.Join(encodeText(cp, right), nil)
	if len(r) > Width {
		for i := range row {
			row[i] = overflow
		}
		return row
	}
	copy(row[Width-len(r):], r)
	room := Width - len(r)
	if len(r) > 0 {
		room-- // one space between the text and the amount
	}
	n := 0
	for _, cells := range encodeText(cp, left) {
		if n+len(cells) > room {
			break
		}
		n += copy(row[n:], cells)
	}
	return row
}
