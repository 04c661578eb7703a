package ingest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/clock/clocktest"
	"github.com/posdisplay/posdisplay/register/protocol"
)

func TestWelcomeListsFeatures(t *testing.T) {
	f := newFixture(t, Options{})
	ws, _, err := websocket.DefaultDialer.Dial(f.wsURL("register=1"), http.Header{"Origin": {origin}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var w protocol.Welcome
	if err := json.Unmarshal(data, &w); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(w.Features), "[returns scan_refuse scan_order]"; w.Type != protocol.TypeWelcome || got != want {
		t.Fatalf("welcome %s: features %s, want %s", data, got, want)
	}
}

// TestRefusesReachTheHookPastTheRateLimit: a refuse is not answered and,
// like an ack, is never dropped by the rate limiter (it frees the scan
// queue); a malformed one is answered with an error carrying its id.
func TestRefusesReachTheHookPastTheRateLimit(t *testing.T) {
	f := newFixture(t, Options{Rate: 1, Burst: 1, Clock: clocktest.New(time.Unix(1000, 0)).Now})
	got := make(chan string, 8)
	f.in.ScanRefused = func(register, id, reason, message string) {
		got <- register + "/" + id + "/" + reason + "/" + message
	}
	ws := f.dial()
	long := strings.Repeat("é", 280) // 560 bytes: above the old 256-byte ack bound
	for _, m := range []string{
		`{"type":"refuse","id":"s-1","reason":"not_found","message":"no product"}`,
		`{"type":"refuse","id":7,"reason":"out_of_stock"}`,
		`{"type":"refuse","id":"s-3","reason":"busy","message":"` + long + `"}`,
		`{"type":"refuse","id":"s-4","reason":"` + strings.Repeat(`\u0062`, 64) + `","message":"` + strings.Repeat(`\u00e9`, 280) + `"}`,
	} {
		send(t, ws, m)
	}
	for _, want := range []string{"1/s-1/not_found/no product", "1/7/other/", "1/s-3/busy/" + long, "1/s-4/other/" + long} {
		select {
		case g := <-got:
			if g != want {
				t.Fatalf("hook got %q, want %q", g, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no hook call for %q", want)
		}
	}
	send(t, ws, "{\"type\":\"refuse\",\"id\":\"s-5\",\"reason\":\"busy\",\"message\":\"Caf\xe9\"}")
	if m := readMsg(t, ws); m.Type != protocol.TypeError || m.Code != protocol.CodeBadMessage || string(m.ID) != `"s-5"` {
		t.Fatalf("malformed refuse answered %+v, want bad_message for s-5", m)
	}
}

func TestSaleChangedHook(t *testing.T) {
	f := newFixture(t, Options{})
	type call struct {
		seq   uint64
		order string
		state cart.State
	}
	var calls []call
	f.in.SaleChanged = func(register string, seq uint64, order string, state cart.State) {
		calls = append(calls, call{seq, order, state})
	}
	c := cart.Empty("1", "USD")
	c.Order, c.State = "A-1", cart.StateOpen
	for _, m := range []protocol.PosMessage{
		{Type: protocol.TypeCart, Cart: &c},
		{Type: protocol.TypeCart, Cart: &c}, // identical: no change, no call
		{Type: protocol.TypeClear},
	} {
		if _, perr := f.in.Apply("1", m); perr != nil {
			t.Fatal(perr)
		}
	}
	if want := []call{{1, "A-1", cart.StateOpen}, {2, "", cart.StateIdle}}; fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Fatalf("SaleChanged calls %v, want %v", calls, want)
	}
}
