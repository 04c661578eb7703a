package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/register/protocol"
)

// TestInvalidUTF8IsRejectedNotRewritten: a Latin-1 "Café au lait" sent on
// the POS socket or to REST was acked and stored as "Caf\uFFFD au lait".
// The protocol says the whole message is rejected, with the path.
func TestInvalidUTF8IsRejectedNotRewritten(t *testing.T) {
	cfg := testConfig(t)
	cfg.POS.BackendToken = "backend-token-0123456789"
	r := start(t, cfg)
	good, _ := json.Marshal(basket("1", 2))
	latin1 := bytes.Replace(good, []byte(`"title":"`), []byte("\"title\":\"Caf\xe9 "), 1)
	if bytes.Equal(latin1, good) {
		t.Fatal("the basket has no title")
	}

	// REST.
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://%s/v1/registers/1/cart", r.POSAddr()), bytes.NewReader(latin1))
	req.Header.Set("Authorization", "Bearer "+cfg.POS.BackendToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e protocol.Error
	_ = json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || e.Code != protocol.CodeBadMessage || e.Field != "lines[0].title" {
		t.Errorf("REST: got %d %+v, want 400 bad_message on lines[0].title", resp.StatusCode, e)
	}

	// WebSocket.
	pos := dialPOS(t, r, "1")
	msg := append(append([]byte(`{"type":"cart","id":"w1","cart":`), latin1...), '}')
	if err := pos.WriteMessage(websocket.TextMessage, msg); err != nil {
		t.Fatal(err)
	}
	ack, perr := answer(t, pos)
	if perr == nil || perr.Code != protocol.CodeBadMessage || perr.Field != "lines[0].title" {
		t.Errorf("POS socket: got ack %+v, error %+v; want bad_message on lines[0].title", ack, perr)
	}
	st, _ := r.Stream("1")
	for _, l := range st.Cart().Lines {
		if strings.ContainsRune(l.Title, '\uFFFD') {
			t.Errorf("stored title %q: the agent rewrote the bytes", l.Title)
		}
	}
	if st.Position().Seq != 0 {
		t.Errorf("stream at seq %d, want 0: nothing accepted", st.Position().Seq)
	}
}
