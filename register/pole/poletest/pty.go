package poletest

import "github.com/posdisplay/posdisplay/scanner/scannertest"

// PTY is a real pseudo-terminal pair standing in for a pole display's
// serial port: the code under test opens Slave with serial.Open, the test
// reads what it wrote from the master side (Read). It is the scanners' pty
// double, one implementation for every serial device.
type PTY = scannertest.PTY

// OpenPTY opens a pseudo-terminal pair (see scannertest.OpenPTY).
func OpenPTY() (*PTY, error) { return scannertest.OpenPTY() }
