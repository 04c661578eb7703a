// Package blackbox tests the real posdisplay-agent binary from outside, as
// an attacker on the store network or a failing network would see it: it
// builds the binary, starts it as a child process with a config file, and
// talks to it only through its sockets and the published contract
// (docs/protocol.md). It owns no production code.
//
// By default (go test ./...) the suite runs a short variant: a few hundred
// hostile connections. POSDISPLAY_BLACKBOX_FULL=1 runs the sizes of the
// acceptance criteria (2000 + 2000 connections), e.g.
//
//	POSDISPLAY_BLACKBOX_FULL=1 go test -count=1 -v ./register/blackbox
package blackbox
