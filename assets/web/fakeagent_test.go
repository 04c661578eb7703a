package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/assets/web"
)

// fakeAgent is a loopback stand-in for the agent's POS endpoint that
// speaks the v1 extensions the adapter builds on (welcome.features,
// scan.gtin and scan.order, the page's refuse message, return lines) before
// the agent side of them lands. It serves the real bridge scripts.
type fakeAgent struct {
	t        testing.TB
	srv      *httptest.Server
	features []string // nil: an older agent, no features field

	mu      sync.Mutex
	conn    *websocket.Conn
	wmu     *sync.Mutex // guards writes to conn
	conns   []*websocket.Conn
	carts   []wireCart // every cart accepted, in order
	seq     int
	acks    chan string
	refuses chan wireRefuse
	changed chan struct{} // a cart arrived or a socket opened (capacity 1)
}

type wireRefuse struct{ ID, Reason, Message string }

// wireCart mirrors the cart JSON field by field, with the returns
// extension, so that nothing the adapter sends goes unchecked.
type wireCart struct {
	Register string       `json:"register"`
	Order    string       `json:"order,omitempty"`
	Currency string       `json:"currency"`
	State    string       `json:"state"`
	Lines    []wireLine   `json:"lines"`
	Subtotal int64        `json:"subtotal"`
	Discount int64        `json:"discount"`
	Taxes    []wireTax    `json:"taxes"`
	Total    int64        `json:"total"`
	Payment  *wirePayment `json:"payment,omitempty"`
	Message  string       `json:"message,omitempty"`
}

type wireLine struct {
	ID        string `json:"id"`
	SKU       string `json:"sku,omitempty"`
	Title     string `json:"title"`
	Quantity  string `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
	Discount  int64  `json:"discount"`
	Total     int64  `json:"total"`
	Return    bool   `json:"return,omitempty"`
}

type wireTax struct {
	Label    string `json:"label"`
	Amount   int64  `json:"amount"`
	Included bool   `json:"included,omitempty"`
}

type wirePayment struct {
	Due      int64  `json:"due"`
	Tendered int64  `json:"tendered"`
	Change   int64  `json:"change"`
	Method   string `json:"method,omitempty"`
}

func newFakeAgent(t testing.TB, features ...string) *fakeAgent {
	t.Helper()
	a := &fakeAgent{t: t, features: features, acks: make(chan string, 64), refuses: make(chan wireRefuse, 64), changed: make(chan struct{}, 1)}
	mux := http.NewServeMux()
	mux.Handle(web.BridgePath, web.POSHandler(false))
	mux.HandleFunc("/v1/pos", a.serveWS)
	a.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		a.mu.Lock()
		for _, c := range a.conns {
			c.Close()
		}
		a.mu.Unlock()
		a.srv.Close()
	})
	return a
}

func (a *fakeAgent) addr() string { return strings.TrimPrefix(a.srv.URL, "http://") }

func (a *fakeAgent) poke() {
	select {
	case a.changed <- struct{}{}:
	default:
	}
}

func (a *fakeAgent) serveWS(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	wmu := &sync.Mutex{}
	a.mu.Lock()
	a.conn, a.wmu = c, wmu
	a.conns = append(a.conns, c)
	welcome := map[string]any{"type": "welcome", "protocol": 1, "agent": "fake", "register": r.URL.Query().Get("register"), "epoch": "E1", "seq": a.seq}
	if a.features != nil {
		welcome["features"] = a.features
	}
	a.mu.Unlock()
	write := func(v any) {
		wmu.Lock()
		defer wmu.Unlock()
		_ = c.WriteJSON(v)
	}
	write(welcome)
	a.poke()
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		var m struct {
			Type    string          `json:"type"`
			ID      json.RawMessage `json:"id"`
			Cart    json.RawMessage `json:"cart"`
			Reason  string          `json:"reason"`
			Message string          `json:"message"`
		}
		if err := json.Unmarshal(msg, &m); err != nil {
			a.t.Errorf("fake agent: page sent non-JSON %q", msg)
			continue
		}
		var id string
		_ = json.Unmarshal(m.ID, &id)
		switch m.Type {
		case "cart":
			var wc wireCart
			dec := json.NewDecoder(bytes.NewReader(m.Cart))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&wc); err != nil {
				a.t.Errorf("fake agent: cart %s: %v", m.Cart, err)
				write(map[string]any{"type": "error", "id": m.ID, "code": "bad_message", "message": err.Error()})
				continue
			}
			if err := checkWireCart(wc, a.has("returns")); err != "" {
				a.t.Errorf("fake agent: invalid cart (%s): %s", err, m.Cart)
				write(map[string]any{"type": "error", "id": m.ID, "code": "invalid_cart", "message": err})
				continue
			}
			a.mu.Lock()
			a.carts = append(a.carts, wc)
			a.seq++
			seq := a.seq
			a.mu.Unlock()
			write(map[string]any{"type": "ack", "id": m.ID, "seq": seq})
			a.poke()
		case "clear":
			write(map[string]any{"type": "ack", "id": m.ID, "seq": a.seq})
		case "ack":
			a.acks <- id
		case "refuse":
			if !a.has("scan_refuse") {
				a.t.Errorf("fake agent without scan_refuse got a refuse: %s", msg)
			}
			a.refuses <- wireRefuse{ID: id, Reason: m.Reason, Message: m.Message}
		default:
			a.t.Errorf("fake agent: unknown message %s", msg)
		}
	}
}

func (a *fakeAgent) has(f string) bool {
	for _, x := range a.features {
		if x == f {
			return true
		}
	}
	return false
}

// checkWireCart is the arithmetic of the cart contract with its returns
// extension (docs/protocol.md), checked on every cart the page sends.
func checkWireCart(c wireCart, returns bool) string {
	var sum int64
	hasReturn := false
	for _, l := range c.Lines {
		if l.UnitPrice < 0 || l.Total < 0 || l.Discount < 0 {
			return "negative line amount " + l.ID
		}
		if l.Return {
			if !returns {
				return "return line to an agent without the returns feature"
			}
			hasReturn = true
			sum -= l.Total
		} else {
			sum += l.Total
		}
	}
	if c.Subtotal != sum {
		return "subtotal is not the sum of the lines"
	}
	want := c.Subtotal - c.Discount
	for _, t := range c.Taxes {
		if !t.Included {
			want += t.Amount
		}
	}
	if c.Total != want {
		return "total is not subtotal - discount + taxes"
	}
	if !hasReturn && (c.Subtotal < 0 || c.Total < 0) {
		return "negative total without a return line"
	}
	if p := c.Payment; p != nil {
		if p.Change != max(0, p.Tendered-p.Due) {
			return "change is not tendered - due"
		}
		if p.Due < 0 && !hasReturn {
			return "negative amount due without a return line"
		}
		if p.Tendered < 0 || p.Change < 0 {
			return "negative tendered or change"
		}
	}
	return ""
}

// lastCart returns the latest cart the page sent.
func (a *fakeAgent) lastCart() (wireCart, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.carts) == 0 {
		return wireCart{}, 0
	}
	return a.carts[len(a.carts)-1], len(a.carts)
}

// waitCart waits for a cart for which ok holds (bounded by waitLong).
func (a *fakeAgent) waitCart(what string, ok func(wireCart) bool) wireCart {
	a.t.Helper()
	deadline := time.After(waitLong)
	for {
		c, n := a.lastCart()
		if n > 0 && ok(c) {
			return c
		}
		select {
		case <-a.changed:
		case <-deadline:
			j, _ := json.Marshal(c)
			a.t.Fatalf("fake agent never got a cart with %s; last: %s", what, j)
		}
	}
}

// waitConn waits until a page socket is open.
func (a *fakeAgent) waitConn() {
	a.t.Helper()
	deadline := time.After(waitLong)
	for {
		a.mu.Lock()
		ok := a.conn != nil
		a.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-a.changed:
		case <-deadline:
			a.t.Fatal("no page connected to the fake agent")
		}
	}
}

// scan sends a scan to the newest page socket.
func (a *fakeAgent) scan(id, code, gtin, order string) {
	a.t.Helper()
	a.waitConn()
	m := map[string]any{"type": "scan", "id": id, "code": code, "symbology": "ean13", "source": "test", "at": time.Now().UTC().Format(time.RFC3339Nano)}
	if a.has("scan_order") {
		m["gtin"] = gtin
		m["order"] = order
	}
	a.mu.Lock()
	c, wmu := a.conn, a.wmu
	a.mu.Unlock()
	wmu.Lock()
	defer wmu.Unlock()
	if err := c.WriteJSON(m); err != nil {
		a.t.Fatalf("sending scan: %v", err)
	}
}

// nextAck and nextRefuse wait for the page's answer to a scan.
func (a *fakeAgent) nextAck() string {
	a.t.Helper()
	select {
	case id := <-a.acks:
		return id
	case r := <-a.refuses:
		a.t.Errorf("want an ack, got refuse %+v", r)
		return "refused:" + r.ID
	case <-time.After(waitLong):
		a.t.Fatal("no ack")
	}
	return ""
}

func (a *fakeAgent) nextRefuse() wireRefuse {
	a.t.Helper()
	select {
	case r := <-a.refuses:
		return r
	case id := <-a.acks:
		a.t.Fatalf("want a refuse, got ack %s", id)
	case <-time.After(waitLong):
		a.t.Fatal("no refuse")
	}
	return wireRefuse{}
}
