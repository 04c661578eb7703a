// Package client is a display's side of the display protocol: it finds the
// agent through an address source, says hello with its resume position,
// keeps a replica of the register's cart in step with snapshots and deltas,
// detects gaps and epoch changes, reconnects with jittered backoff, and
// publishes immutable View values for screens to draw.
//
// # Use
//
//	c, err := client.New(client.Options{
//		Register: "1",
//		Token:    token,
//		Source:   client.Static{URL: "ws://register1:7422/v1/display"},
//		Logger:   logger,
//		OnView:   func(v client.View) { fyne.Do(func() { screen.Show(v) }) },
//	})
//	...
//	err = c.Run(ctx) // returns when ctx ends, with no goroutine left
//
// A screen either sets OnView (called from a client goroutine, coalescing)
// or reads Views(), a channel that always holds the latest View. Neither
// can slow the network: the read loop never waits for a screen.
//
// # What a View promises
//
// The cart in a View always passed cart validation; a message that fails
// to decode or apply is never shown. When the stream breaks (socket closed,
// no message or pong within ReadTimeout, a gap, an epoch change, a delta
// that does not apply) the View keeps the last good cart with Status
// StatusReconnecting at once, and Since says since when, so a screen can
// hide money figures after a few seconds. The client then asks for a
// snapshot (resync) or reconnects and resumes from its last good position.
//
// # Transports
//
// By default the client follows the stream over the display socket.
// Options.Transport can make it poll instead (TransportPoll), or poll only
// where no WebSocket gets through, as behind a proxy that strips Upgrade
// (TransportAuto): the same messages and positions over held HTTP
// requests (docs/protocol.md, "Polling transport"), with the same Views.
//
// # Ownership
//
// The package owns the display's connection, its replica and its status.
// It must never import Fyne (the agent's terminal watcher and tests use it
// too), never log the display token, and never trust agent-supplied text
// without validation. Address discovery (mDNS) and TLS pinning live
// elsewhere and plug in through Source, Target.TLS and Options.IsUntrusted.
package client
