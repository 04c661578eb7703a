package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/stream"
)

// The polling transport (docs/protocol.md, "Polling transport"): a display
// that cannot open a WebSocket (an old browser, a proxy that strips
// Upgrade) posts its hello to protocol.PollPath, and gets, as one JSON
// array, what the socket would have sent after that hello. When its resume
// position is the register's current one, the request is held until the
// stream has something newer (or a cue), or until the poll's wait.
//
// A poller is a display like any other: it subscribes to the register's
// stream with the same bounded queue, gets the same shared frames, and
// falls back to a snapshot by the same rules (resume outside the history,
// a gap, an overflow). It holds no state between requests: the position
// it names is all the agent needs.

// Bounds on the polls held at once for one display token. Held polls are
// HTTP requests in flight, which the display listener's connection limit
// (register/connlimit) counts and never sheds: without them one leaked
// token could fill that limit with held requests.
const (
	// maxPollsPerTokenAddr is per token and source address (an IPv6 /64
	// counts as one, see sourceKey): a display has one in flight, and a
	// page that reloads or asks for a snapshot abandons one that the agent
	// sees end a moment later.
	maxPollsPerTokenAddr = 4
	// maxPollsPerToken is per token in all: a static token from
	// display.tokens may be shared by every tablet of a store (each from
	// its own address), but one token never takes more than an eighth of
	// the largest display connection budget (2048).
	maxPollsPerToken = 256
)

// pollRetryAfter is the Retry-After, in seconds, of a poll refused because
// its token has maxPollsPerToken held already: by then one has usually
// been answered.
const pollRetryAfter = 1

// heldPoll is one poll in progress, known to the hub so that Close and
// Revoke can answer it.
type heldPoll struct {
	displayID string
	addr      string // sourceKey of the remote address
	done      chan struct{}
	once      sync.Once
	// status and farewell are the answer the hub chose (set before done
	// is closed); status 0 answers as if the hold had ended.
	status   int
	farewell *protocol.Error
}

// end answers p early: with farewell and status, or (status 0) with what
// it has, as if its hold had ended. Only the first call counts.
func (p *heldPoll) end(status int, farewell *protocol.Error) {
	p.once.Do(func() {
		p.status, p.farewell = status, farewell
		close(p.done)
	})
}

// pollSet is the hub's polls in progress, guarded by Hub.mu.
type pollSet struct {
	held     map[*heldPoll]struct{}
	perToken map[string]int    // by display id: one per token
	perAddr  map[[2]string]int // by display id and source address
	// changed is closed (and replaced) when held changes: WaitPolls.
	changed chan struct{}
}

// changedLocked wakes WaitPolls. Callers hold h.mu.
func (s *pollSet) changedLocked() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// WaitPolls waits until at least n polls are held, or ctx ends (an event
// for callers that must know a poll is parked, such as tests, in place of
// polling Polls).
func (h *Hub) WaitPolls(ctx context.Context, n int) error {
	for {
		h.mu.Lock()
		held := len(h.polls.held)
		if h.polls.changed == nil {
			h.polls.changed = make(chan struct{})
		}
		ch := h.polls.changed
		h.mu.Unlock()
		if held >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%d polls held, want %d: %w", held, n, ctx.Err())
		}
	}
}

// startPoll counts p, or says why it cannot be held.
func (h *Hub) startPoll(p *heldPoll) (status int, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return http.StatusServiceUnavailable, "shutting_down"
	case h.polls.perAddr[[2]string{p.displayID, p.addr}] >= maxPollsPerTokenAddr,
		h.polls.perToken[p.displayID] >= maxPollsPerToken:
		return http.StatusTooManyRequests, "poll_busy"
	}
	if h.polls.held == nil {
		h.polls.held, h.polls.perToken, h.polls.perAddr = map[*heldPoll]struct{}{}, map[string]int{}, map[[2]string]int{}
	}
	h.polls.held[p] = struct{}{}
	h.polls.perToken[p.displayID]++
	h.polls.perAddr[[2]string{p.displayID, p.addr}]++
	h.polls.changedLocked()
	h.wg.Add(1)
	return 0, ""
}

func (h *Hub) endPoll(p *heldPoll) {
	h.mu.Lock()
	delete(h.polls.held, p)
	if h.polls.perToken[p.displayID]--; h.polls.perToken[p.displayID] <= 0 {
		delete(h.polls.perToken, p.displayID)
	}
	k := [2]string{p.displayID, p.addr}
	if h.polls.perAddr[k]--; h.polls.perAddr[k] <= 0 {
		delete(h.polls.perAddr, k)
	}
	h.polls.changedLocked()
	h.mu.Unlock()
	h.wg.Done()
}

// heldPollsLocked returns the polls in progress of displayID ("" for all).
// Callers hold h.mu.
func (h *Hub) heldPollsLocked(displayID string) []*heldPoll {
	var out []*heldPoll
	for p := range h.polls.held {
		if displayID == "" || p.displayID == displayID {
			out = append(out, p)
		}
	}
	return out
}

// Polls returns the number of polls in progress.
func (h *Hub) Polls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.polls.held)
}

// ServePoll serves one request of the polling transport on
// protocol.PollPath (POST, the body a hello).
func (h *Hub) ServePoll(w http.ResponseWriter, r *http.Request) {
	if !sameOriginOrNone(r) {
		h.refuse(w, r, http.StatusForbidden, "forbidden_origin", protocol.NewError(nil, protocol.CodeForbiddenOrigin, "",
			"only a page served by this listener may poll it"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, protocol.MaxPollBody+1))
	if err != nil {
		h.log.Debug("poll body unread", "remote", r.RemoteAddr, "err", err)
		return
	}
	req, perr := protocol.DecodePoll(r.URL.RawQuery, body)
	if perr != nil {
		status := http.StatusBadRequest
		switch perr.Code {
		case protocol.CodeTooLarge:
			status = http.StatusRequestEntityTooLarge
		case protocol.CodeUnauthorized: // a token above its length limit
			status = http.StatusUnauthorized
		}
		h.refuse(w, r, status, "bad_poll", perr)
		return
	}
	hello := req.Hello
	st, ok := h.streams[hello.Register]
	if !ok {
		h.refuse(w, r, http.StatusNotFound, "unknown_register", protocol.NewError(nil, protocol.CodeUnknownRegister, "register", "this agent has no register "+hello.Register))
		return
	}
	id, err := h.auth.Authorize(hello.Token, hello.Register)
	if err != nil {
		h.refuse(w, r, http.StatusUnauthorized, "unauthorized", protocol.NewError(nil, protocol.CodeUnauthorized, "token", "display token missing, wrong or revoked"))
		return
	}
	p := &heldPoll{displayID: id, addr: sourceKey(r.RemoteAddr), done: make(chan struct{})}
	switch status, reason := h.startPoll(p); status {
	case 0:
	case http.StatusServiceUnavailable:
		writeError(w, status, protocol.NewError(nil, protocol.CodeShuttingDown, "", "the agent is shutting down"))
		return
	default:
		w.Header().Set("Retry-After", strconv.Itoa(pollRetryAfter))
		h.refuse(w, r, status, reason, protocol.NewError(nil, protocol.CodeBusy, "",
			"this display token has too many polls held already; retry in a second"))
		return
	}
	defer h.endPoll(p)
	// A revocation between Authorize and startPoll did not see this poll;
	// asking again closes that window (as conn.serve does).
	if _, err := h.auth.Authorize(hello.Token, hello.Register); err != nil {
		h.refuse(w, r, http.StatusUnauthorized, "unauthorized", protocol.NewError(nil, protocol.CodeUnauthorized, "token", "display token missing, wrong or revoked"))
		return
	}
	// The server's write timeout runs from the request; the answer gets
	// the hub's write bound after the hold instead. (net/http clears the
	// read deadline itself once the body is read.)
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(req.Wait + h.opts.WriteWait))

	answer, status, farewell := h.pollFrames(r, st, req, p)
	switch {
	case farewell != nil:
		writeError(w, status, farewell)
	case answer != nil:
		writeFrames(w, answer)
	}
}

// pollFrames subscribes to st as a display resuming from the poll's
// position would, holds when nothing is newer, and returns the encoded
// messages of the answer. It returns a status and farewell instead when
// the hub ended the poll with one, and nothing when the client left.
func (h *Hub) pollFrames(r *http.Request, st *stream.Stream, req protocol.Poll, p *heldPoll) (answer [][]byte, status int, farewell *protocol.Error) {
	returns := wantsReturns(r)
	welcome, err := json.Marshal(protocol.Welcome{Type: protocol.TypeWelcome, Protocol: protocol.Version, Agent: h.opts.AgentID, Register: req.Hello.Register, Position: st.Position()})
	if err != nil {
		return nil, http.StatusInternalServerError, protocol.NewError(nil, protocol.CodeInternal, "", "could not encode the welcome")
	}
	sub := stream.NewSub(h.opts.QueueFrames)
	sub.LimitBytes(maxQueuedBytes)
	catchup, err := st.Subscribe(req.Hello.Resume, sub)
	if err != nil {
		st.Unsubscribe(sub)
		h.log.Error("subscribe failed", "register", req.Hello.Register, "err", err)
		return nil, http.StatusInternalServerError, protocol.NewError(nil, protocol.CodeInternal, "", "could not build the snapshot")
	}
	frames := catchup
	if len(catchup) == 1 && catchup[0].Kind == protocol.TypeResumed && req.Wait > 0 {
		hold := time.NewTimer(req.Wait)
		select {
		case f := <-sub.C:
			frames = append(frames, f)
		case <-hold.C:
		case <-r.Context().Done():
			hold.Stop()
			st.Unsubscribe(sub)
			return nil, 0, nil
		case <-p.done:
			if p.farewell != nil {
				hold.Stop()
				st.Unsubscribe(sub)
				return nil, p.status, p.farewell
			}
		}
		hold.Stop()
	}
	// Whatever else is queued goes in the same answer.
	for more := true; more; {
		select {
		case f := <-sub.C:
			frames = append(frames, f)
		default:
			more = false
		}
	}
	st.Unsubscribe(sub)
	frames, reason := inOrder(frames, sub.TakeOverflow())
	if reason != "" {
		snap := st.Snapshot()
		h.metrics.Resyncs.WithLabelValues(reason).Inc()
		frames = []*stream.Frame{snap}
	}
	answer = append(make([][]byte, 0, len(frames)+1), welcome)
	for _, f := range frames {
		answer = append(answer, f.For(returns))
		if f.Kind == protocol.TypeDelta {
			h.metrics.FanoutLatency.Observe(time.Since(f.At).Seconds())
		}
	}
	return answer, 0, nil
}

// inOrder checks the frames of one answer: the catch-up (a snapshot, or
// resumed and deltas), then what was queued after it. Deltas the catch-up
// already holds are dropped; a gap or an overflowed queue means the display
// must take a snapshot instead, for the reason returned.
func inOrder(frames []*stream.Frame, overflowed bool) ([]*stream.Frame, string) {
	if overflowed {
		return nil, "slow"
	}
	out := frames[:0:0]
	var last uint64
	for i, f := range frames {
		switch {
		case i == 0 || f.Kind == protocol.TypeCue:
		case f.Seq <= last:
			continue
		case f.Seq != last+1:
			return nil, "gap"
		}
		if f.Kind != protocol.TypeCue {
			last = f.Seq
		}
		out = append(out, f)
	}
	return out, ""
}

// writeFrames answers a poll: the encoded messages as one JSON array.
func writeFrames(w http.ResponseWriter, msgs [][]byte) {
	n := 2 + max(len(msgs)-1, 0) // brackets and commas
	for _, m := range msgs {
		n += len(m)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(n))
	w.WriteHeader(http.StatusOK)
	sep := []byte{'['}
	for _, m := range msgs {
		if _, err := w.Write(sep); err != nil {
			return
		}
		if _, err := w.Write(m); err != nil {
			return
		}
		sep = []byte{','}
	}
	if len(msgs) == 0 {
		_, _ = w.Write(sep)
	}
	_, _ = w.Write([]byte{']'})
}

// writeError answers a poll with an error message.
func writeError(w http.ResponseWriter, status int, e *protocol.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}

// pollStatus is the HTTP status that answers a poll ended with farewell:
// 401 for a revoked token, and 0 (answer what the poll has) for none.
func pollStatus(farewell *protocol.Error) int {
	if farewell == nil {
		return 0
	}
	if farewell.Code == protocol.CodeUnauthorized {
		return http.StatusUnauthorized
	}
	return http.StatusServiceUnavailable
}
