// Package chaos holds the agent's fault suite: tests that build the real
// posdisplay-agent binary and break things around it on purpose — kill -9
// under load with displays following, a state directory on a full tmpfs, TLS
// displays that stop reading, a display's network link set down in a
// network namespace — and check what the customer would have seen.
//
// `go test ./register/chaos` (part of `make test`) runs short variants, in
// about a minute; `make chaos` (.ci/chaos.sh) runs the long ones
// (-chaos.long) that the closing note of issue 14 reports. Tests that need
// root (tmpfs, network namespaces) skip without it, and fail instead when
// CI=true.
//
// The package has no non-test code besides this comment.
package chaos
