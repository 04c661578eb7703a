// Package pole drives pole displays: the two-line, twenty-column
// vacuum-fluorescent customer displays on a serial port (Epson DM-D series,
// Logic Controls PD3000, Bixolon BCD-1100 and their clones).
//
// A Pole follows one register's cart stream as one more subscriber and
// turns each cart into two rows of twenty cells through event-driven
// templates (templates.go), money formatted by display/money, text
// transliterated into the display's code page (codepage.go) and fitted by
// whole characters (layout.go), then into the bytes of the configured
// command set (commands.go, epson.go, cd5220.go).
//
// What it must not do: block the stream (it reads the latest cart when it
// is ready to write, so a 9600-baud port coalesces changes instead of
// queueing them, and WebSocket displays never wait for it); show a price
// the cart no longer holds (every screen is rendered from the current cart
// only, and when the pole stops following the register it says so); link
// Fyne (the agent embeds it).
package pole
