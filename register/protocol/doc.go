// Package protocol defines the two public wire protocols of posdisplay and
// their strict decoders: the POS protocol (web POS page or backend → agent,
// and scans agent → page) and the display protocol (agent → displays).
// docs/protocol.md is the contract; the golden files in testdata pin it.
//
// The package only encodes and decodes messages; it owns no connections and
// no state, so both the agent and the displays can import it.
package protocol
