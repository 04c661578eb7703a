// Package web holds the browser side of posdisplay and serves it: the
// pos-bridge.js module that a web POS page loads to talk to the local agent,
// the Drupal Commerce POS adapter built on it, the demo cashier page, and the
// web display for tablets.
//
// The files are embedded with go:embed so the agent binary is self-contained.
// The package only serves static bytes: it owns no sockets, no cart state and
// no configuration, and it must never import the agent. The agent mounts
// POSHandler on its POS listener and DisplayHandler on its display listener.
//
// Every page served here loads nothing from the internet: no third-party
// scripts, fonts or images. docs/web.md describes embedding and deployment.
package web
