// Package scannertest provides hand-written fakes for the hardware edges of
// package scanner, for its own tests and for other packages' tests: a fake
// evdev device fed from text fixtures ([ParseEvents], [EventDevice]) and a
// fake serial port ([Port]). It must not import package scanner (scanner's
// own tests use it) and holds no real devices.
package scannertest
