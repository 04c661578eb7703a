package loadtest

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/gorilla/websocket"
)

// PollServer is the AJAX polling baseline: the POS publishes carts on /pub
// (one WebSocket message per cart), and browsers GET /v1/cart every 250 ms.
// Each response is {"version":N,"cart":{...}} with ETag "N", and a poll that
// sends If-None-Match with the current ETag gets 304 Not Modified, as a
// careful polling page would.
type PollServer struct {
	up   websocket.Upgrader
	mu   sync.RWMutex
	ver  uint64
	etag string
	body []byte
}

// NewPollServer returns a server holding version 0, an empty cart.
func NewPollServer() *PollServer {
	p := &PollServer{up: websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}}
	p.set(0, []byte(`{}`))
	return p
}

func (p *PollServer) set(v uint64, cart []byte) {
	body := fmt.Appendf(nil, `{"version":%d,"cart":%s}`, v, cart)
	p.mu.Lock()
	p.ver, p.etag, p.body = v, `"`+strconv.FormatUint(v, 10)+`"`, body
	p.mu.Unlock()
}

// Handler serves /pub and /v1/cart.
func (p *PollServer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pub", p.servePub)
	mux.HandleFunc("GET /v1/cart", p.serveCart)
	return mux
}

func (p *PollServer) servePub(w http.ResponseWriter, r *http.Request) {
	ws, err := p.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	for v := uint64(1); ; v++ {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		p.set(v, msg)
	}
}

func (p *PollServer) serveCart(w http.ResponseWriter, r *http.Request) {
	p.mu.RLock()
	etag, body := p.etag, p.body
	p.mu.RUnlock()
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}
