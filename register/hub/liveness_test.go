package hub

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/posdisplay/posdisplay/register/protocol"
)

// An idle display hears a heartbeat about every HeartbeatInterval, with
// nothing else on the stream; a busy one is not sent any.
func TestIdleDisplayGetsHeartbeats(t *testing.T) {
	f := newFixture(t, Options{})
	ws := f.dial("tok-a", nil)
	if got := readAny(t, ws); got.Type != protocol.TypeSnapshot {
		t.Fatalf("first frame: got %+v, want snapshot", got)
	}
	start := time.Now()
	for i := range 2 {
		if got := readAny(t, ws); got.Type != protocol.TypeHeartbeat {
			t.Fatalf("idle frame %d: got %+v, want a heartbeat", i, got)
		}
	}
	// Two heartbeats take about two intervals (the first is due an
	// interval after the snapshot); much less means the writer beats more
	// often than once an interval.
	if d := time.Since(start); d < 3*HeartbeatInterval/2 {
		t.Errorf("two heartbeats in %v, want them %v apart", d, HeartbeatInterval)
	}
}

// A display that answers nothing (no pongs: its reader is gone) is dropped
// after PongWait even while every write to it blocks, and counted as silent.
func TestSilentDisplayDroppedWhileWritesBlock(t *testing.T) {
	f := newFixture(t, Options{PingInterval: 20 * time.Millisecond, PongWait: 300 * time.Millisecond, WriteWait: time.Hour})
	ws := f.dial("tok-a", nil)
	read(t, ws) // the snapshot; from now on nothing reads, so no pong is sent
	f.gate.shut()
	f.publish()
	<-f.gate.blocked // the writer is stuck in a write with an hour's deadline
	// Reading now would answer pings: watch the hub from outside instead,
	// bounded, while changes keep coming.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	limit := time.After(20 * time.Second)
	for f.hub.Count() > 0 {
		select {
		case <-tick.C:
			f.publish()
		case <-limit:
			t.Fatal("silent display not dropped within 20 s (PongWait 300 ms)")
		}
	}
	if got := testutil.ToFloat64(f.metrics.DisplaysCut.WithLabelValues("silent")); got != 1 {
		t.Errorf("displays cut as silent: got %v, want 1", got)
	}
	f.gate.release()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			if websocket.IsUnexpectedCloseError(err) {
				t.Logf("display side: %v", err)
			}
			break
		}
	}
}
