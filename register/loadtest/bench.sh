#!/bin/sh
# Fan-out benchmark table: the agent (WebSocket, and up to 100 displays on
# its polling transport) against a bare WebSocket relay and AJAX polling,
# with 1, 10, 100 and 1000 displays, at 50 changes/s and in a burst
# of 500 (POS rate limit lifted), each scenario 3 rounds (servers
# alternating) pooled into one row; "burst100" is the burst of 100 the
# default rate limit allows (10, 100, 1000 displays, WebSocket rows only).
# The agent+redis and agent+rediss rows are the agent fed by XADDs through a
# local redis-server (plain and TLS). About 10 minutes on 2 cores. Extra arguments go to `go test`, e.g. -short
# (1 and 10 displays, 2 s, one round: a smoke run), -args -rounds=1, or
# -bench 'BenchmarkFanout/shape=burst/displays=1000$' (one slice).
#
# POSDISPLAY_LOADTEST_PROFILE_DIR=/tmp/prof writes each server's CPU and heap
# profiles and memory statistics there.
set -eu
cd "$(dirname "$0")"
exec go test -run '^$' -bench '^BenchmarkFanout$' -benchtime=1x -count=1 -timeout=15m "$@" .
