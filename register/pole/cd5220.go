package pole

// CD5220 is the command set of the CD5220 display, which Logic Controls'
// PD3000 and most no-name poles emulate. The bytes follow the CD5220
// user's manual as LCDproc's serialPOS driver
// (server/drivers/serialPOS_cd5220.c) sends them:
//
//	ESC @       1B 40        initialize
//	ESC * n     1B 2A n      brightness, n = 1..4 (25 % steps)
//	ESC _ n     1B 5F n      cursor, n = 0 off
//	ESC DC1     1B 11        overwrite mode (not vertical or horizontal scroll)
//	CLR         0C           clear the screen, cursor home
//	ESC l x y   1B 6C x y    move the cursor to column x, row y
//
// The CD5220 set has no code-page command (ESC f n swaps a few ASCII
// positions for national letters): the code page is whatever the display's
// ROM holds, cp437 on most of them, and the config must say which.
type CD5220 struct{}

// Name is "cd5220".
func (CD5220) Name() string { return "cd5220" }

// Init resets, sets the brightness, hides the cursor, selects overwrite
// mode and clears.
func (CD5220) Init(_ *CodePage, brightness int) []byte {
	return []byte{
		0x1b, 0x40,
		0x1b, 0x2a, clampBrightness(brightness),
		0x1b, 0x5f, 0x00,
		0x1b, 0x11,
		0x0c,
	}
}

// Row moves to the row's first column and writes cells.
func (CD5220) Row(row int, cells []byte) []byte {
	return append([]byte{0x1b, 0x6c, 1, byte(row)}, cells...)
}
