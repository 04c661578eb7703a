package pole

// Epson is the ESC/POS customer-display command set of Epson's DM-D
// series and the many displays that emulate it. The bytes follow Epson's
// ESC/POS customer display reference, as LCDproc's serialPOS driver
// (server/drivers/serialPOS_epson.c) sends them:
//
//	ESC @       1B 40        initialize
//	ESC t n     1B 74 n      select character code table
//	US X n      1F 58 n      brightness, n = 1..4 (25 % steps)
//	US C n      1F 43 n      cursor display, n = 0 off
//	US MD1      1F 01        overwrite mode: writing past the last cell of
//	                         the bottom row must not scroll the text up
//	CLR         0C           clear the screen, cursor home
//	US $ x y    1F 24 x y    move the cursor to column x, row y
type Epson struct{}

// Name is "epson".
func (Epson) Name() string { return "epson" }

// Init resets, selects cp, sets the brightness, hides the cursor, selects
// overwrite mode (a display whose switches default to scrolling would
// otherwise scroll on the last cell) and clears.
func (Epson) Init(cp *CodePage, brightness int) []byte {
	return []byte{
		0x1b, 0x40,
		0x1b, 0x74, cp.Epson,
		0x1f, 0x58, clampBrightness(brightness),
		0x1f, 0x43, 0x00,
		0x1f, 0x01,
		0x0c,
	}
}

// Row moves to the row's first column and writes cells.
func (Epson) Row(row int, cells []byte) []byte {
	return append([]byte{0x1f, 0x24, 1, byte(row)}, cells...)
}
