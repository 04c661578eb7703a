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
// The agent is measured a third way, ImplAgentPoll: the same agent, its
// displays on the polling transport (POST /v1/display/poll, held for 1 s,
// as the web display falls back to), each from its own loopback address.
// The agent's rows also come fed through Redis (Scenario.Feed: the sender
// is a backend XADDing to the register's pos stream on a redis-server the
// caller runs, over redis:// or rediss://), beside the POS-socket rows:
// the same workload, latency from the XADD to the display.
//
// Latency runs from the POS sender's write of a change (a full cart on the
// agent's real POS WebSocket, /v1/pos, with an allowed Origin) to a
// display's receipt of the delta that carries it, so it includes the
// agent's decoding and validation. A change a display receives through a
// snapshot (after it fell behind) counts as delivered at the snapshot's
// arrival and is reported as "via snapshot"; a change never seen within
// Scenario.Settle counts as lost. The relay gets the agent's exact delta
// bytes to broadcast; the polling server gets the bare cart.
//
// The agent child runs with its POS rate limit lifted, so that a burst of
// 500 changes back to back is measured at all; the "burst100" rows keep the
// default limit (Scenario.RateLimited) and send the 100 changes it lets a
// page send at once: a burst a real page may send, for which no display may
// be sent a snapshot.
//
// Usage (the table, about 10 minutes on 2 cores):
//
//	register/loadtest/bench.sh           # 1, 10, 100, 1000 displays
//	register/loadtest/bench.sh -short    # 1 and 10 displays, 2 s steady: smoke run
//
// BenchmarkBurstPair is the quick A/B loop for one burst row: relay and
// agent alternating, each round's p99 ratio printed (-rounds,
// -pair-displays, -pair-tls, -pair-rate for the steady shape,
// -pair-limited for burst100).
//
// POSDISPLAY_LOADTEST_PROFILE_DIR=dir makes every child write CPU and heap
// profiles and memory statistics there (POSDISPLAY_LOADTEST_PROFILE_EXTRA=
// block,mutex,trace adds those profiles and an execution trace); POSDISPLAY_LOADTEST_AGENT_ENV adds
// environment (e.g. "GOGC=50") to the agent child only;
// POSDISPLAY_LOADTEST_QUEUE overrides the agent's display queue;
// POSDISPLAY_LOADTEST_BATCH=0 makes the agent's displays not announce
// batches (protocol revision 1.2), as older displays.
//
// The package owns only measurement: it never changes how the agent works,
// binds only 127.0.0.1, and bounds every loop in count and time. It must not
// be imported by product code.
package loadtest
