package hub

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// A display that fell behind by several deltas gets them as one batch when
// it announced "batch", and one message each when it did not (every display
// built before revision 1.2); both end at the stream's cart and seq.
func TestLaggingDisplayGetsOneBatch(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		batches     bool
		queued      int
	}{
		{"announced", "?features=returns,batch", true, 5},
		// More deltas than one frame of a batch holds: one message
		// in several frames (batch.go).
		{"announced, long backlog", "?features=returns,batch", true, fragmentDeltas + 3},
		{"older display", "?features=returns", false, 5},
		{"no features", "", false, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			ws, _, err := websocket.DefaultDialer.Dial(f.url+tc.query, nil)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			t.Cleanup(func() { ws.Close() })
			hello, _ := json.Marshal(protocol.Hello{Type: protocol.TypeHello, Register: "1", Token: "tok-a"})
			if err := ws.WriteMessage(websocket.TextMessage, hello); err != nil {
				t.Fatal(err)
			}
			var replica cart.Cart
			var seq uint64
			if m := readServer(t, ws); m.Welcome == nil {
				t.Fatalf("first message: got %q, want a welcome", m.Type)
			}
			if m := readServer(t, ws); m.Snapshot == nil {
				t.Fatalf("catch-up: got %q, want a snapshot", m.Type)
			} else {
				replica, seq = m.Snapshot.Cart, m.Snapshot.Seq
			}

			f.gate.shut()
			first := f.publish()
			<-f.gate.blocked // the writer holds delta 1 (or a heartbeat) and cannot write it
			queued := uint64(tc.queued)
			for range queued {
				f.publish()
			}
			f.gate.release()

			apply := func(d protocol.Delta) {
				t.Helper()
				if d.Seq != seq+1 {
					t.Fatalf("delta %d after %d", d.Seq, seq)
				}
				next, err := cart.Apply(replica, d.Ops)
				if err != nil {
					t.Fatalf("delta %d: %v", d.Seq, err)
				}
				replica, seq = next, d.Seq
			}
			messages, batches := 0, 0
			for seq < first+queued {
				m := readServer(t, ws)
				switch {
				case m.Delta != nil:
					messages++
					apply(*m.Delta)
				case m.Batch != nil:
					messages++
					batches++
					if len(m.Batch.Deltas) < 2 {
						t.Errorf("batch of %d deltas, want 2 or more (a lone delta goes as itself)", len(m.Batch.Deltas))
					}
					for _, d := range m.Batch.Deltas {
						apply(d)
					}
				case m.Type == protocol.TypeHeartbeat:
				default:
					t.Fatalf("got %q at seq %d, want deltas", m.Type, seq)
				}
			}
			if tc.batches {
				// The delta held at the gate, then the queued ones in one
				// batch; or all six in one batch when a heartbeat was held.
				if batches != 1 || messages > 2 {
					t.Errorf("got %d messages with %d batches, want the backlog in 1 batch", messages, batches)
				}
			} else if batches != 0 || messages != int(queued)+1 {
				t.Errorf("got %d messages with %d batches, want %d deltas one by one", messages, batches, queued+1)
			}
			want, wantSeq := f.st.Current()
			if !cart.Equal(replica, want) || seq != wantSeq {
				t.Errorf("display ends at seq %d with %+v, want seq %d with %+v", seq, replica, wantSeq, want)
			}
		})
	}
}

func readServer(t *testing.T, ws *websocket.Conn) protocol.ServerMessage {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	m, err := protocol.DecodeServer(data)
	if err != nil {
		t.Fatalf("DecodeServer(%s): %v", data, err)
	}
	return m
}
