package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/metrics"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/stream"
)

// pollFixture drives ServePoll directly, without a network, so that the
// tests can run in a synctest bubble and hold polls on its fake clock.
type pollFixture struct {
	t   *testing.T
	hub *Hub
	st  *stream.Stream
	n   int
}

func newPollFixture(t *testing.T, history int) *pollFixture {
	t.Helper()
	st := stream.New("1", "ep1", cart.Empty("1", "USD"), history)
	h := New(map[string]*stream.Stream{"1": st}, tokens{"tok-a": "disp-a", "tok-b": "disp-b"}, metrics.New(), testLogger(t), Options{})
	t.Cleanup(func() {
		if err := h.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &pollFixture{t: t, hub: h, st: st}
}

func (f *pollFixture) publish() uint64 {
	f.t.Helper()
	f.n++
	return publishChange(f.t, f.st, f.n)
}

// pending is a poll being served.
type pending struct {
	rec    *httptest.ResponseRecorder
	done   chan struct{}
	cancel context.CancelFunc
}

func (p *pending) finished() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// start serves one poll on its own goroutine.
func (f *pollFixture) start(query, token string, resume *protocol.Position) *pending {
	body, _ := json.Marshal(protocol.Hello{Type: protocol.TypeHello, Register: "1", Token: token, Resume: resume})
	return f.startRaw(query, string(body), nil)
}

// startFrom serves a poll from the remote address addr.
func (f *pollFixture) startFrom(addr, token string, resume *protocol.Position) *pending {
	body, _ := json.Marshal(protocol.Hello{Type: protocol.TypeHello, Register: "1", Token: token, Resume: resume})
	return f.startRaw("", string(body), nil, addr)
}

func (f *pollFixture) startRaw(query, body string, hdr http.Header, remote ...string) *pending {
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, protocol.PollPath+"?"+query, strings.NewReader(body))
	if len(remote) > 0 {
		r.RemoteAddr = remote[0]
	}
	for k, v := range hdr {
		r.Header[k] = v
	}
	p := &pending{rec: httptest.NewRecorder(), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(p.done)
		f.hub.ServePoll(p.rec, r)
	}()
	f.t.Cleanup(cancel)
	return p
}

// answer waits for the poll's answer and returns its status and messages.
func (p *pending) answer(t *testing.T) (int, []frame) {
	t.Helper()
	<-p.done
	body := p.rec.Body.Bytes()
	if p.rec.Code != http.StatusOK {
		var e frame
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("error body %q: %v", body, err)
		}
		return p.rec.Code, []frame{e}
	}
	parts, err := protocol.SplitPollAnswer(body)
	if err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	var out []frame
	for _, part := range parts {
		if _, err := protocol.DecodeServer(part); err != nil {
			t.Fatalf("message %s: %v", part, err)
		}
		var fr frame
		_ = json.Unmarshal(part, &fr)
		out = append(out, fr)
	}
	return p.rec.Code, out
}

func kinds(frames []frame) string {
	var s []string
	for _, f := range frames {
		if f.Type == protocol.TypeError {
			s = append(s, "error:"+f.Code)
			continue
		}
		s = append(s, fmt.Sprintf("%s@%d", f.Type, f.Seq))
	}
	return strings.Join(s, " ")
}

func TestPollAnswersAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newPollFixture(t, 4)
		for range 6 {
			f.publish()
		}
		tests := []struct {
			name   string
			resume *protocol.Position
			want   string
		}{
			{"no resume: snapshot", nil, "welcome@6 snapshot@6"},
			{"behind, in the history: the missing deltas", &protocol.Position{Epoch: "ep1", Seq: 3}, "welcome@6 resumed@3 delta@4 delta@5 delta@6"},
			{"older than the history: snapshot", &protocol.Position{Epoch: "ep1", Seq: 1}, "welcome@6 snapshot@6"},
			{"another epoch (agent restarted): snapshot", &protocol.Position{Epoch: "ep0", Seq: 6}, "welcome@6 snapshot@6"},
			{"ahead of the agent: snapshot", &protocol.Position{Epoch: "ep1", Seq: 9}, "welcome@6 snapshot@6"},
		}
		for _, tc := range tests {
			p := f.start("", "tok-a", tc.resume)
			code, got := p.answer(t)
			if code != http.StatusOK || kinds(got) != tc.want {
				t.Errorf("%s: got %d %s, want 200 %s", tc.name, code, kinds(got), tc.want)
			}
		}
	})
}

func TestPollHeldUntilDelta(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newPollFixture(t, 16)
		seq := f.publish()
		p := f.start("", "tok-a", &protocol.Position{Epoch: "ep1", Seq: seq})
		synctest.Wait()
		if p.finished() || f.hub.Polls() != 1 {
			t.Fatalf("poll at the current position: finished %v, %d held; want it held", p.finished(), f.hub.Polls())
		}
		if got := f.st.Subscribers(); got != 1 {
			t.Fatalf("subscribers while held: got %d, want 1 (the poller is a display like any other)", got)
		}
		f.publish()
		code, got := p.answer(t)
		if want := "welcome@1 resumed@1 delta@2"; code != http.StatusOK || kinds(got) != want {
			t.Fatalf("got %d %s, want 200 %s", code, kinds(got), want)
		}
		if n := f.st.Subscribers(); n != 0 || f.hub.Polls() != 0 {
			t.Fatalf("after the answer: %d subscribers, %d polls; want none", n, f.hub.Polls())
		}
	})
}

func TestPollHeldAnswersCue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newPollFixture(t, 16)
		p := f.start("", "tok-a", &protocol.Position{Epoch: "ep1", Seq: 0})
		synctest.Wait()
		if err := f.st.Cue(protocol.CueScanning); err != nil {
			t.Fatal(err)
		}
		_, got := p.answer(t)
		if want := "welcome@0 resumed@0 cue@0"; kinds(got) != want || got[2].Cue != protocol.CueScanning {
			t.Fatalf("got %s %+v, want %s", kinds(got), got, want)
		}
	})
}

func TestPollHoldEnds(t *testing.T) {
	for _, tc := range []struct {
		query string
		hold  time.Duration
	}{
		{"", protocol.MaxPollWait},
		{"wait=1000", time.Second},
	} {
		t.Run("wait="+tc.hold.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newPollFixture(t, 16)
				start := time.Now()
				p := f.start(tc.query, "tok-a", &protocol.Position{Epoch: "ep1", Seq: 0})
				time.Sleep(tc.hold - time.Millisecond)
				synctest.Wait()
				if p.finished() {
					t.Fatalf("answered after %v, before the hold of %v", time.Since(start), tc.hold)
				}
				code, got := p.answer(t)
				if want := "welcome@0 resumed@0"; code != http.StatusOK || kinds(got) != want {
					t.Fatalf("got %d %s, want 200 %s", code, kinds(got), want)
				}
				if d := time.Since(start); d != tc.hold {
					t.Fatalf("answered after %v, want %v", d, tc.hold)
				}
			})
		})
	}
}

func TestPollBoundedPerToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newPollFixture(t, 16)
		at := &protocol.Position{Epoch: "ep1", Seq: 0}
		const addrA = "192.0.2.1:1000"
		var held []*pending
		for range maxPollsPerTokenAddr {
			held = append(held, f.startFrom(addrA, "tok-a", at))
		}
		synctest.Wait()
		over := f.startFrom(addrA, "tok-a", at)
		code, got := over.answer(t)
		if code != http.StatusTooManyRequests || kinds(got) != "error:busy" || over.rec.Header().Get("Retry-After") == "" {
			t.Fatalf("poll %d of one token and address: got %d %s (Retry-After %q), want 429 busy with Retry-After", maxPollsPerTokenAddr+1, code, kinds(got), over.rec.Header().Get("Retry-After"))
		}
		// Another token from the same address, and the same token from
		// another address (a shared static token), are held.
		other := f.startFrom(addrA, "tok-b", at)
		elsewhere := f.startFrom("192.0.2.2:1000", "tok-a", at)
		synctest.Wait()
		if other.finished() || elsewhere.finished() {
			t.Fatalf("another token's poll or another address's: finished %v, %v; want both held", other.finished(), elsewhere.finished())
		}
		// One ends (its display left): the address may poll again.
		held[0].cancel()
		synctest.Wait()
		again := f.startFrom(addrA, "tok-a", at)
		synctest.Wait()
		if again.finished() {
			t.Fatalf("poll after one ended: got %d %s, want it held", again.rec.Code, again.rec.Body)
		}
		if n, want := f.hub.Polls(), maxPollsPerTokenAddr+2; n != want {
			t.Fatalf("held polls: got %d, want %d", n, want)
		}
		f.publish()
		for _, p := range append(held[1:], other, elsewhere, again) {
			if code, got := p.answer(t); code != http.StatusOK || len(got) != 3 {
				t.Errorf("held poll after a change: got %d %s", code, kinds(got))
			}
		}

		// In all, one token holds at most maxPollsPerToken, whatever the
		// addresses.
		at = &protocol.Position{Epoch: "ep1", Seq: 1}
		var all []*pending
		for i := range maxPollsPerToken {
			all = append(all, f.startFrom(fmt.Sprintf("198.51.100.%d:1000", i/maxPollsPerTokenAddr), "tok-a", at))
		}
		synctest.Wait()
		last := f.startFrom("203.0.113.1:1000", "tok-a", at)
		if code, got := last.answer(t); code != http.StatusTooManyRequests || kinds(got) != "error:busy" {
			t.Fatalf("poll %d of one token: got %d %s, want 429 busy", maxPollsPerToken+1, code, kinds(got))
		}
		f.publish()
		for _, p := range all {
			if code, _ := p.answer(t); code != http.StatusOK {
				t.Fatalf("held poll after a change: got %d", code)
			}
		}
	})
}

func TestPollRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newPollFixture(t, 16)
		f.publish()
		hello := `{"type":"hello","register":"1","token":"tok-a"}`
		tests := []struct {
			name   string
			query  string
			body   string
			origin string
			status int
			code   string
		}{
			{"wrong token", "", `{"type":"hello","register":"1","token":"nope"}`, "", http.StatusUnauthorized, protocol.CodeUnauthorized},
			{"no token", "", `{"type":"hello","register":"1"}`, "", http.StatusUnauthorized, protocol.CodeUnauthorized},
			{"unknown register", "", `{"type":"hello","register":"9","token":"tok-a"}`, "", http.StatusNotFound, protocol.CodeUnknownRegister},
			{"not a hello", "", `{"type":"resync"}`, "", http.StatusBadRequest, protocol.CodeBadHello},
			{"not JSON", "", `GET / HTTP/1.1`, "", http.StatusBadRequest, protocol.CodeBadJSON},
			{"bad wait", "wait=60000", hello, "", http.StatusBadRequest, protocol.CodeBadMessage},
			{"too large", "", hello + strings.Repeat(" ", protocol.MaxPollBody), "", http.StatusRequestEntityTooLarge, protocol.CodeTooLarge},
			{"another site's page", "", hello, "http://evil.example", http.StatusForbidden, protocol.CodeForbiddenOrigin},
		}
		for _, tc := range tests {
			hdr := http.Header{}
			if tc.origin != "" {
				hdr.Set("Origin", tc.origin)
			}
			p := f.startRaw(tc.query, tc.body, hdr)
			code, got := p.answer(t)
			if code != tc.status || kinds(got) != "error:"+tc.code || strings.Contains(p.rec.Body.String(), "snapshot") {
				t.Errorf("%s: got %d %s, want %d error:%s and no data", tc.name, code, p.rec.Body, tc.status, tc.code)
			}
		}
		// The page served by this listener may poll it.
		p := f.startRaw("", hello, http.Header{"Origin": {"http://example.com"}})
		if code, got := p.answer(t); code != http.StatusOK || kinds(got) != "welcome@1 snapshot@1" {
			t.Errorf("same-origin poll: got %d %s", code, kinds(got))
		}
	})
}

func TestPollRevokedAndClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newPollFixture(t, 16)
		at := &protocol.Position{Epoch: "ep1", Seq: 0}
		a := f.start("", "tok-a", at)
		b := f.start("", "tok-b", at)
		synctest.Wait()
		if n := f.hub.Revoke("disp-a"); n != 1 {
			t.Fatalf("Revoke: closed %d, want 1", n)
		}
		if code, got := a.answer(t); code != http.StatusUnauthorized || kinds(got) != "error:unauthorized" {
			t.Fatalf("revoked poll: got %d %s, want 401 unauthorized", code, kinds(got))
		}
		synctest.Wait()
		if b.finished() {
			t.Fatal("another display's poll ended on a revocation")
		}
		if err := f.hub.Close(context.Background()); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if code, got := b.answer(t); code != http.StatusServiceUnavailable || kinds(got) != "error:shutting_down" {
			t.Fatalf("poll held at Close: got %d %s, want 503 shutting_down", code, kinds(got))
		}
		late := f.start("", "tok-b", at)
		if code, got := late.answer(t); code != http.StatusServiceUnavailable || kinds(got) != "error:shutting_down" {
			t.Fatalf("poll after Close: got %d %s, want 503 shutting_down", code, kinds(got))
		}
	})
}

func TestPollOverflowTakesSnapshot(t *testing.T) {
	frames := func(seqs ...uint64) []*stream.Frame {
		var out []*stream.Frame
		for i, s := range seqs {
			kind := protocol.TypeDelta
			if i == 0 {
				kind = protocol.TypeResumed
			}
			out = append(out, &stream.Frame{Kind: kind, Seq: s})
		}
		return out
	}
	tests := []struct {
		name       string
		in         []*stream.Frame
		overflowed bool
		wantLen    int
		reason     string
	}{
		{"in order", frames(3, 4, 5), false, 3, ""},
		{"duplicate dropped", frames(3, 4, 4, 5), false, 3, ""},
		{"gap", frames(3, 4, 6), false, 0, "gap"},
		{"overflow", frames(3, 4), true, 0, "slow"},
	}
	for _, tc := range tests {
		got, reason := inOrder(tc.in, tc.overflowed)
		if len(got) != tc.wantLen || reason != tc.reason {
			t.Errorf("%s: got %d frames, %q; want %d, %q", tc.name, len(got), reason, tc.wantLen, tc.reason)
		}
	}
}

// TestPollOverRealHTTP holds a poll through net/http with a server write
// timeout shorter than the hold: the answer must still arrive. (The
// timeout is far from the request's own time, so that a loaded machine
// cannot make it expire early; net/http clears the read deadline itself.)
func TestPollOverRealHTTP(t *testing.T) {
	f := newPollFixture(t, 16)
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+protocol.PollPath, f.hub.ServePoll)
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.WriteTimeout = time.Second
	srv.Start()
	defer srv.Close()
	body := `{"type":"hello","register":"1","token":"tok-a","resume":{"epoch":"ep1","seq":0}}`
	resp, err := http.Post(srv.URL+protocol.PollPath+"?wait=3000", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var msgs []json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&msgs); err != nil || resp.StatusCode != http.StatusOK || len(msgs) != 2 {
		t.Fatalf("poll held past the read timeout: got %s, %d messages, %v; want 200 welcome, resumed", resp.Status, len(msgs), err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
}
