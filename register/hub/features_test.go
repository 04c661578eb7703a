package hub

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

func TestWantsReturns(t *testing.T) {
	tests := []struct {
		query string
		want  bool
	}{
		{"", false},
		{"features=returns", true},
		{"features=scan_order,returns", true},
		{"features=scan_order&features=returns", true},
		{"features=%20returns%20", true},
		{"features=return", false},
		{"Features=returns", false},
		{"features=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,returns", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/v1/display?"+tt.query, nil)
		if got := wantsReturns(r); got != tt.want {
			t.Errorf("wantsReturns(%q) = %v, want %v", tt.query, got, tt.want)
		}
	}
}

// TestDisplaysGetTheViewTheyAnnounced: a display that announced returns in
// its upgrade URL is sent the return line; one that did not (every display
// built before revision 1.1) is sent the version 1 view, which it can
// apply, on the same seq.
func TestDisplaysGetTheViewTheyAnnounced(t *testing.T) {
	f := newFixture(t, Options{})
	dial := func(query string) *websocket.Conn {
		ws, _, err := websocket.DefaultDialer.Dial(f.url+"/v1/display"+query, nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { ws.Close() })
		hello, _ := json.Marshal(protocol.Hello{Type: protocol.TypeHello, Register: "1", Token: "tok-a"})
		if err := ws.WriteMessage(websocket.TextMessage, hello); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{protocol.TypeWelcome, protocol.TypeSnapshot} {
			if got := read(t, ws); got.Type != want {
				t.Fatalf("got %+v, want %s", got, want)
			}
		}
		return ws
	}
	old, aware := dial(""), dial("?features=returns")
	c := cart.Empty("1", "USD")
	c.State, c.Order = cart.StateOpen, "A-1"
	c.Lines = []cart.Line{{ID: "r", Title: "Kettle", Quantity: 1000, UnitPrice: 2999, Total: 2999, Return: true}}
	c.Subtotal, c.Total = -2999, -2999
	if _, err := f.st.Publish(c, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ws   *websocket.Conn
		want cart.Cart
	}{{"version 1 display", old, cart.V1View(c)}, {"returns-aware display", aware, c}} {
		_ = tc.ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, data, err := tc.ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		m, err := protocol.DecodeServer(data)
		if err != nil || m.Delta == nil || m.Delta.Seq != 1 {
			t.Fatalf("%s: got %s (%v), want the delta at seq 1", tc.name, data, err)
		}
		got, err := cart.Apply(cart.Empty("1", "USD"), m.Delta.Ops)
		if err != nil || !cart.Equal(got, tc.want) {
			t.Fatalf("%s: replica %+v (%v), want %+v", tc.name, got, err, tc.want)
		}
	}
}
