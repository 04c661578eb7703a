package poletest

import "testing"

func ascii(b byte) rune { return rune(b) }

func TestEmulatorRefusesUnknownCommands(t *testing.T) {
	for _, tc := range []struct {
		set string
		in  []byte
	}{
		{"epson", []byte{0x1b, 'l', 1, 1}},  // a CD5220 move on an Epson display
		{"cd5220", []byte{0x1f, '$', 1, 1}}, // an Epson move on a CD5220
		{"epson", []byte{0x1f, '$', 21, 1}}, // column 21
		{"epson", []byte{0x1f, '$', 1, 3}},  // row 3
		{"epson", []byte{'a', 0x0a}},        // a line feed is not sent by pole
		{"cd5220", []byte{0x1b, '*', 5}},    // brightness 5
	} {
		e := NewEmulator(tc.set, ascii)
		e.Feed(tc.in)
		if e.Err() == nil {
			t.Errorf("%s % x: got no error, want one", tc.set, tc.in)
		}
	}
}

func TestEmulatorSplitSequences(t *testing.T) {
	e := NewEmulator("epson", ascii)
	for _, b := range []byte{0x1b, '@', 0x1f, '$', 3, 2, 'h', 'i'} {
		e.Feed([]byte{b})
	}
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	if got, want := e.Lines()[1], "  hi                "; got != want {
		t.Errorf("row 2: got %q, want %q", got, want)
	}
}
