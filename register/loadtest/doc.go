// Package loadtest measures the agent's delta fan-out against two honest
// baselines in the same run: a bare WebSocket broadcast relay (no protocol,
// no state) and AJAX polling every 250 ms.
//
// Each server under test (the real agent, the relay, the polling server)
// runs in a child process, a re-execution of the current test binary chosen
// by an environment marker (see MaybeChild), so that its CPU time and peak
// RSS can be read from /proc without the clients' share. The clients (one
// POS sender, N displays or pollers) run in the parent and stamp send and
// receipt times on the same monotonic clock.
//
// The package owns only measurement: it never changes how the agent works,
// binds only 127.0.0.1, and bounds every loop in count and time. It must not
// be imported by product code.
package loadtest
