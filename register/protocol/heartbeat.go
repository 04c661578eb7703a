package protocol

// TypeHeartbeat is sent by the agent to a display that has had no other
// message for about a second: it carries nothing but the proof that the
// stream is alive, so a display can mark its cart stale within two seconds
// of a silent link (browsers cannot see WebSocket pings). Displays that do
// not know it ignore it, as any unknown message type.
const TypeHeartbeat = "heartbeat"

// Heartbeat is {"type":"heartbeat"}.
type Heartbeat struct {
	Type string `json:"type"`
}
