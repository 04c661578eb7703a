// Package client is a display's side of the display protocol: it finds the
// agent through an address source, says hello with its resume position,
// keeps a replica of the register's cart in step with snapshots and deltas,
// detects gaps and epoch changes, reconnects with jittered backoff, and
// publishes immutable View values for screens to draw.
//
// It must never import Fyne: the agent's terminal watcher and tests use it too.
package client
