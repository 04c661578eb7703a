package hub

import (
	"encoding/json"
	"time"

	"github.com/posdisplay/posdisplay/register/protocol"
)

// Liveness figures (docs/protocol.md, "Heartbeat and liveness").
const (
	// HeartbeatInterval is the longest a live display goes without a
	// message: the writer sends a heartbeat when nothing else was written
	// for this long. Displays mark their cart stale after 1.8 s of
	// silence, so a heartbeat late by most of a second on a loaded
	// register does not flap the screen.
	HeartbeatInterval = time.Second
	// DisplayPongWait is the read deadline the agent applies to displays:
	// a display that answers neither pings (every PingInterval, 2 s by
	// default in the agent config) nor anything else for this long is
	// dropped, whatever the change rate: its blocked writes are abandoned
	// at once.
	DisplayPongWait = 8 * time.Second
)

// heartbeatFrame is the encoded heartbeat, shared by every display.
var heartbeatFrame = func() []byte {
	b, err := json.Marshal(protocol.Heartbeat{Type: protocol.TypeHeartbeat})
	if err != nil {
		panic(err)
	}
	return b
}()
