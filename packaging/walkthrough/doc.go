// Package walkthrough holds the store-IT walkthrough test: the real agent
// and screen binaries, built with go build, on two network namespaces
// joined by a veth pair, the screen under Xvfb. It pairs, pushes a cart
// over REST, moves the register, restarts the screen where mDNS does not
// reach it, revokes and pairs again, and checks each step in the screen's
// own log (issue 21, "done when").
//
// It has no code of its own: only the test.
package walkthrough
