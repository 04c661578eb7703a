// Package poletest holds test doubles for pole displays: an emulator that
// interprets the bytes of the Epson and CD5220 command sets into a 2×20
// grid a reviewer can read, and a real pty standing in for the serial port.
package poletest

import (
	"fmt"
	"strings"
)

// Emulator is a 2×20 pole display that understands the commands register/pole
// sends, and refuses anything else: a byte it does not know is an error, not
// a character, so a golden stream that renders cleanly is a valid one.
type Emulator struct {
	set    string // "epson" or "cd5220"
	decode func(byte) rune

	Grid       [2][20]rune
	Row, Col   int // 0-based cursor
	Cursor     bool
	Brightness int
	CodeTable  int  // Epson ESC t n, -1 when never selected
	Inits      int  // ESC @ seen
	Overwrite  bool // overwrite mode selected explicitly

	pending []byte // an escape sequence cut between two Feeds
	err     error
}

// NewEmulator returns a blank display of the named command set whose ROM
// draws byte b as decode(b).
func NewEmulator(set string, decode func(byte) rune) *Emulator {
	e := &Emulator{set: set, decode: decode, Cursor: true, Brightness: 4, CodeTable: -1}
	e.clear()
	return e
}

func (e *Emulator) clear() {
	for r := range e.Grid {
		for c := range e.Grid[r] {
			e.Grid[r][c] = ' '
		}
	}
	e.Row, e.Col = 0, 0
}

// Err is the first byte sequence the emulator did not understand.
func (e *Emulator) Err() error { return e.err }

// Feed interprets b. Sequences may be split across calls.
func (e *Emulator) Feed(b []byte) {
	buf := append(e.pending, b...)
	e.pending = nil
	for len(buf) > 0 && e.err == nil {
		n := e.step(buf)
		if n == 0 { // incomplete sequence
			e.pending = append([]byte(nil), buf...)
			return
		}
		buf = buf[n:]
	}
}

// step interprets the command at the start of buf and returns its length,
// or 0 when buf ends inside it.
func (e *Emulator) step(buf []byte) int {
	b := buf[0]
	arg := func(i int) (byte, bool) {
		if i < len(buf) {
			return buf[i], true
		}
		return 0, false
	}
	switch {
	case b == 0x0c:
		e.clear()
		return 1
	case b == 0x1b:
		c, ok := arg(1)
		if !ok {
			return 0
		}
		if c == '@' {
			e.clear()
			e.Cursor, e.Brightness, e.Inits, e.Overwrite = true, 4, e.Inits+1, false
			return 2
		}
		if e.set == "cd5220" && c == 0x11 {
			e.Overwrite = true
			return 2
		}
		n, ok := arg(2)
		if !ok {
			return 0
		}
		switch {
		case e.set == "epson" && c == 't':
			e.CodeTable = int(n)
			return 3
		case e.set == "cd5220" && c == '*' && n >= 1 && n <= 4:
			e.Brightness = int(n)
			return 3
		case e.set == "cd5220" && c == '_' && n <= 1:
			e.Cursor = n == 1
			return 3
		case e.set == "cd5220" && c == 'l':
			y, ok := arg(3)
			if !ok {
				return 0
			}
			return e.move(n, y, 4)
		}
	case b == 0x1f && e.set == "epson":
		if c, ok := arg(1); ok && c == 0x01 {
			e.Overwrite = true
			return 2
		}
		c, ok := arg(1)
		n, ok2 := arg(2)
		if !ok || !ok2 {
			return 0
		}
		switch {
		case c == 'X' && n >= 1 && n <= 4:
			e.Brightness = int(n)
			return 3
		case c == 'C' && n <= 1:
			e.Cursor = n == 1
			return 3
		case c == '$':
			y, ok := arg(3)
			if !ok {
				return 0
			}
			return e.move(n, y, 4)
		}
	case b >= 0x20 && b != 0x7f:
		e.Grid[e.Row][e.Col] = e.decode(b)
		// Overwrite mode: past the last column the cursor wraps to the
		// next row, and from the last row back to the first. (In a
		// scroll mode the text would move: the emulator insists on
		// overwrite mode before the last cell is written.)
		if e.Row == 1 && e.Col == 19 && !e.Overwrite {
			e.err = fmt.Errorf("%s emulator: last cell written without overwrite mode: a display in scroll mode would scroll", e.set)
			return 1
		}
		if e.Col++; e.Col == 20 {
			e.Col, e.Row = 0, (e.Row+1)%2
		}
		return 1
	}
	e.err = fmt.Errorf("%s emulator: unknown command % x at row %d col %d", e.set, buf[:min(len(buf), 4)], e.Row+1, e.Col+1)
	return len(buf)
}

func (e *Emulator) move(x, y byte, n int) int {
	if x < 1 || x > 20 || y < 1 || y > 2 {
		e.err = fmt.Errorf("%s emulator: cursor move to column %d row %d is off the display", e.set, x, y)
		return n
	}
	e.Col, e.Row = int(x)-1, int(y)-1
	return n
}

// Lines returns the two rows as text.
func (e *Emulator) Lines() [2]string {
	return [2]string{string(e.Grid[0][:]), string(e.Grid[1][:])}
}

// String draws the display in a frame, the way a reviewer reads it in
// test output:
//
//	+--------------------+
//	|2 x Milk 1L         |
//	|               $3.98|
//	+--------------------+
func (e *Emulator) String() string {
	l := e.Lines()
	bar := "+" + strings.Repeat("-", 20) + "+"
	return bar + "\n|" + l[0] + "|\n|" + l[1] + "|\n" + bar
}
