package hub

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// Limits on sockets that have not said hello yet and did not present a
// token in the upgrade request (version 1 displays send it in the hello).
// The display listener is on the store network, and each such socket holds
// a goroutine and about 20 KB for up to HelloWait. Before these were per
// address with loopback exempt and the global cap refused every display,
// 1024 silent sockets from one machine locked every real display out.
//
// Now each source address (an IPv6 /64 counts as one, since one host may
// hold all of it), loopback included, gets a fair share of
// maxPendingPerAddr, so the global maxPending takes at least 64 addresses
// to fill; and a display presenting a valid token in the upgrade request
// never counts against either.
const (
	maxPending        = 1024
	maxPendingPerAddr = 16
	// retryAfter is the Retry-After of a busy refusal, in seconds: about
	// HelloWait, when the silent sockets ahead are closed.
	retryAfter = 10
	// refusalLogEvery bounds the refusal log to one summary line per
	// interval, however large the flood (was one WARN line per refusal).
	refusalLogEvery = 10 * time.Second
)

// preauth is what a display presented in its upgrade request, already
// authorized.
type preauth struct {
	register, token, displayID string
}

// authorizeUpgrade checks a token presented in the upgrade request. On
// failure it has answered the HTTP request and returns false.
func (h *Hub) authorizeUpgrade(w http.ResponseWriter, r *http.Request, up protocol.DisplayUpgrade) (*preauth, bool) {
	if !cart.ValidID(up.Register) {
		h.refuse(w, r, http.StatusBadRequest, "bad_register", protocol.NewError(nil, protocol.CodeBadHello, "register",
			"the upgrade request needs ?register=ID (1-64 characters of A-Z a-z 0-9 . _ -) with its token"))
		return nil, false
	}
	if _, ok := h.streams[up.Register]; !ok {
		h.refuse(w, r, http.StatusNotFound, "unknown_register", protocol.NewError(nil, protocol.CodeUnknownRegister, "register", "this agent has no register "+up.Register))
		return nil, false
	}
	id, err := h.auth.Authorize(up.Token, up.Register)
	if err != nil {
		h.refuse(w, r, http.StatusUnauthorized, "unauthorized", protocol.NewError(nil, protocol.CodeUnauthorized, "token", "display token missing, wrong or revoked"))
		return nil, false
	}
	return &preauth{register: up.Register, token: up.Token, displayID: id}, true
}

// refuse answers an upgrade request with an HTTP error and an error body,
// closes the connection (a refused client must not keep a keep-alive
// connection open), and counts and logs the refusal.
func (h *Hub) refuse(w http.ResponseWriter, r *http.Request, status int, reason string, e *protocol.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Connection", "close")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
	h.refused.WithLabelValues(reason).Inc()
	h.refusals.note(h, reason, r.RemoteAddr)
}

// refusalLog summarises refusals: the first of a quiet period is logged at
// once, the rest at most once per refusalLogEvery, as counts.
type refusalLog struct {
	mu     sync.Mutex
	last   time.Time
	counts map[string]int
}

func (l *refusalLog) note(h *Hub, reason, remote string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts = map[string]int{}
	}
	l.counts[reason]++
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < refusalLogEvery {
		return
	}
	args := []any{"last_remote", remote}
	if !l.last.IsZero() {
		args = append(args, "since", l.last.Format(time.RFC3339))
	}
	total := 0
	for r, n := range l.counts {
		args = append(args, r, n)
		total += n
	}
	h.log.Warn("display upgrade requests refused", append([]any{"refused", total}, args...)...)
	l.last = now
	clear(l.counts)
}

// admit counts a socket waiting for its hello, or refuses it.
func (h *Hub) admit(remote string) (ok bool, reason string) {
	key := sourceKey(remote)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.pendingIP[key] >= h.maxPendingPerAddr:
		return false, "address_busy"
	case h.pendingAll >= h.maxPending:
		return false, "busy"
	}
	h.pendingAll++
	h.pendingIP[key]++
	return true, ""
}

// admitted ends the hello phase of a socket counted by admit.
func (h *Hub) admitted(remote string) {
	key := sourceKey(remote)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pendingAll--
	if h.pendingIP[key]--; h.pendingIP[key] <= 0 {
		delete(h.pendingIP, key)
	}
}

// sourceKey is the address a socket's fair share is counted by: its IP,
// or its /64 for IPv6.
func sourceKey(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil && !ip.IsLoopback() {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}
