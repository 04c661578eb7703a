package loadtest

import (
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"
)

// relayQueue bounds each relay client's queue. It holds a whole burst of
// 500 (plus the welcome), so that the relay never drops: it is the
// yardstick, not the thing measured.
const relayQueue = 512

// relayWelcome tells a relay client it is registered and will receive every
// later message.
var relayWelcome = []byte(`{"type":"welcome"}`)

// Relay is the bare broadcast baseline: every message read on /pub is
// written as is to every client of /sub. No protocol, no state, no
// validation: one reader per publisher, one writer goroutine per client.
type Relay struct {
	up      websocket.Upgrader
	mu      sync.RWMutex
	clients map[*relayClient]struct{}
	// Dropped counts messages not queued because a client's queue was full.
	Dropped atomic.Int64
}

type relayClient struct {
	ws   *websocket.Conn
	send chan []byte
}

// NewRelay returns an empty relay with gorilla/websocket's default buffers.
func NewRelay() *Relay {
	return &Relay{clients: map[*relayClient]struct{}{}, up: websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}}
}

// Handler serves /pub and /sub.
func (r *Relay) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pub", r.servePub)
	mux.HandleFunc("GET /sub", r.serveSub)
	return mux
}

func (r *Relay) servePub(w http.ResponseWriter, req *http.Request) {
	ws, err := r.up.Upgrade(w, req, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		r.mu.RLock()
		for c := range r.clients {
			select {
			case c.send <- msg:
			default:
				r.Dropped.Add(1)
			}
		}
		r.mu.RUnlock()
	}
}

func (r *Relay) serveSub(w http.ResponseWriter, req *http.Request) {
	ws, err := r.up.Upgrade(w, req, nil)
	if err != nil {
		return
	}
	c := &relayClient{ws: ws, send: make(chan []byte, relayQueue)}
	c.send <- relayWelcome
	r.mu.Lock()
	r.clients[c] = struct{}{}
	r.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for msg := range c.send {
			if err := ws.WriteMessage(websocket.TextMessage, msg); err != nil {
				_ = ws.Close() // unblocks the reader below
				return
			}
		}
	}()
	for {
		if _, _, err := ws.NextReader(); err != nil {
			break
		}
	}
	r.mu.Lock()
	delete(r.clients, c)
	r.mu.Unlock()
	close(c.send) // no publisher holds c any more
	_ = ws.Close()
	<-done
}
