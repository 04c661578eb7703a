package protocol

import "github.com/posdisplay/posdisplay/register/cart"

// POSDecoder decodes the messages of one POS page, as DecodePOS does, with
// the same results (FuzzPOSDecoderAgrees), but faster for the messages a
// page sends: its whole cart on every change, where all lines but one are
// the same as in the cart before.
//
// Decoding and validating a 12-line cart was half the POS reader's time in
// a burst, and on a core that had slept between two scans 45-57 µs of the
// 95 µs before the displays heard of a change. The decoder remembers the
// JSON text of each line of the last cart it decoded on the fast path
// (every line of it decoded and validated); a line whose text is the same
// byte for byte, at the same index or one off, is taken as it was, neither
// parsed nor checked again. Everything that spans lines (ids, sums) is
// still checked (cart.ValidateKnown).
//
// A POSDecoder is used by one goroutine at a time. The zero value is ready.
// It keeps the last cart's text (at most 64 KiB, fastLimit) alive.
type POSDecoder struct {
	lines []knownLine
	// spare and known are scratch space for the next message: spare held
	// the lines of the cart before last, known is cart.ValidateKnown's.
	spare []knownLine
	known []bool
	hits  int
}

// knownLine is a line of the last cart: its JSON text, a slice of that
// message's string, and what it decoded to.
type knownLine struct {
	raw  string
	line cart.Line
}

// Decode decodes one message from the page, as DecodePOS does.
func (d *POSDecoder) Decode(data []byte) (PosMessage, *Error) {
	if m, ok := decodePOSFastWith(data, d); ok {
		return m, nil
	}
	return decodePOSPrecise(data)
}

// match returns the known line whose text rest starts with, trying the
// line at index k of the last cart, then the ones beside it (a line added
// or removed before k shifts it by one).
func (d *POSDecoder) match(rest []byte, k int) (knownLine, bool) {
	for _, j := range [3]int{k, k + 1, k - 1} {
		if j < 0 || j >= len(d.lines) {
			continue
		}
		if raw := d.lines[j].raw; len(rest) >= len(raw) && string(rest[:len(raw)]) == raw {
			return d.lines[j], true
		}
	}
	return knownLine{}, false
}
