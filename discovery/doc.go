// Package discovery finds posdisplay agents on the local network with
// DNS-SD over multicast DNS (service type _posdisplay._tcp).
//
// It owns:
//   - the typed TXT record of an announcement (Record, EncodeTXT, DecodeTXT),
//     which is untrusted input on the display side and is validated strictly;
//   - the Advertiser and Browser interfaces and their mDNS implementations
//     (MDNSAdvertiser, MDNSBrowser) built on github.com/grandcat/zeroconf,
//     which stays hidden behind them (zeroconf drops goodbye records, so the
//     browser also runs a small listener of its own, using miekg/dns, to
//     report withdrawn registers at once);
//   - the Tracker, which turns browse events into "where is my paired
//     register" (with a remembered last good address and a configured
//     fallback) and "which unpaired registers can I pair with".
//
// It must not decide trust: a Service is only a hint where to connect. The
// certificate fingerprint in the TXT record is what the display pins at
// pairing (package register/tlsid); after pairing, the display compares the
// certificate the register presents with its stored pin, never with what a
// later announcement claims. It must not open connections to registers,
// speak the display protocol, or store pairing tokens.
//
// Instance names are built from the agent and register IDs only
// ("<agent>-<register>", letters, digits, '-' and '_'), so they never contain
// spaces or dots and need no DNS-SD escaping; the human-friendly name travels
// in the TXT record.
package discovery
