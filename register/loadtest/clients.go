package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// clock stamps sends and receipts on one monotonic clock, in nanoseconds
// since the scenario began.
type clock struct{ base time.Time }

func (c clock) now() int64 { return int64(time.Since(c.base)) }

// record is what one display saw: for change k, when it arrived (got[k], 0 when
// not yet) and whether a snapshot rather than the delta brought it.
type record struct {
	got       []int64
	covered   []bool
	n         int // changes seen
	snapshots int // snapshots after the first (resyncs)
	dups      int // frames for changes already seen
}

func newRecord(k int) *record { return &record{got: make([]int64, k), covered: make([]bool, k)} }

// see records change idx at t; it reports whether the display now has all.
func (l *record) see(idx int, t int64, covered bool) bool {
	if idx < 0 || idx >= len(l.got) {
		return false
	}
	if l.got[idx] != 0 {
		l.dups++
		return false
	}
	l.got[idx], l.covered[idx] = t, covered
	l.n++
	return l.n == len(l.got)
}

// progress counts displays that have seen every change.
type progress struct {
	complete atomic.Int64
	done     chan struct{} // closed when complete reaches want
	want     int64
	once     sync.Once
}

func newProgress(want int) *progress { return &progress{done: make(chan struct{}), want: int64(want)} }

func (p *progress) finished() {
	if p.complete.Add(1) == p.want {
		p.once.Do(func() { close(p.done) })
	}
}

var (
	typeDelta    = []byte(`{"type":"delta"`)
	typeSnapshot = []byte(`{"type":"snapshot"`)
	typeBatch    = []byte(`{"type":"batch"`)
	seqKey       = []byte(`"seq":`)
)

// batchSeqs calls see with the seq of every delta in a batch message, in
// order. Only the deltas carry a "seq" key, and a "seq": inside a string
// would be escaped ("\"seq\":"), so every unescaped occurrence is one.
func batchSeqs(data []byte, see func(seq uint64)) {
	for {
		i := bytes.Index(data, seqKey)
		if i < 0 {
			return
		}
		data = data[i+len(seqKey):]
		e := 0
		for e < len(data) && data[e] >= '0' && data[e] <= '9' {
			e++
		}
		if seq, err := strconv.ParseUint(string(data[:e]), 10, 64); err == nil {
			see(seq)
		}
	}
}

// head reads a frame's kind and seq from its first fields without decoding
// the whole frame, so that client CPU stays small and equal for the agent
// and the relay (both send {"type":..,"epoch":..,"seq":N,...}).
func head(data []byte) (kind byte, seq uint64, ok bool) {
	switch {
	case bytes.HasPrefix(data, typeDelta):
		kind = 'd'
	case bytes.HasPrefix(data, typeSnapshot):
		kind = 's'
	default:
		return 0, 0, false
	}
	i := bytes.Index(data, seqKey)
	if i < 0 {
		return 0, 0, false
	}
	j := i + len(seqKey)
	e := j
	for e < len(data) && data[e] >= '0' && data[e] <= '9' {
		e++
	}
	seq, err := strconv.ParseUint(string(data[j:e]), 10, 64)
	return kind, seq, err == nil
}

var dialer = websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 1024}

// wsDisplay is one WebSocket display (of the agent or the relay).
type wsDisplay struct {
	ws  *websocket.Conn
	rec *record
}

// dialDisplay connects a display and waits until it is subscribed: after
// the agent's snapshot (or the relay's welcome). It returns the snapshot's
// seq for the agent.
func dialDisplay(ctx context.Context, dl *websocket.Dialer, impl, addr string, k int, batches bool) (*wsDisplay, uint64, error) {
	path := "/v1/display"
	if impl == "relay" {
		path = "/sub"
	}
	scheme := "ws://"
	if dl.TLSClientConfig != nil {
		scheme = "wss://"
	}
	url := scheme + addr + path
	if impl != "relay" {
		// The token in the upgrade request: a ramp of a thousand displays
		// from one address would otherwise exceed the agent's per-address
		// share of sockets waiting for their hello.
		url += "?register=" + Register + "&token=" + DisplayToken + "&features=returns"
		if batches {
			url += ",batch"
		}
	}
	ws, _, err := dl.DialContext(ctx, url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("dial display: %w", err)
	}
	d := &wsDisplay{ws: ws, rec: newRecord(k)}
	_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	if impl == "relay" {
		if _, _, err := ws.ReadMessage(); err != nil {
			ws.Close()
			return nil, 0, fmt.Errorf("relay welcome: %w", err)
		}
		return d, 0, nil
	}
	hello := fmt.Appendf(nil, `{"type":"hello","register":%q,"token":%q}`, Register, DisplayToken)
	if err := ws.WriteMessage(websocket.TextMessage, hello); err != nil {
		ws.Close()
		return nil, 0, fmt.Errorf("hello: %w", err)
	}
	for range 4 { // welcome, then the snapshot
		_, data, err := ws.ReadMessage()
		if err != nil {
			ws.Close()
			return nil, 0, fmt.Errorf("waiting for the snapshot: %w", err)
		}
		if kind, seq, ok := head(data); ok && kind == 's' {
			return d, seq, nil
		}
	}
	ws.Close()
	return nil, 0, errors.New("no snapshot after hello")
}

// read records frames until the socket fails or deadline passes. Change k
// is seq seqBase+1+k.
func (d *wsDisplay) read(clk clock, seqBase uint64, deadline time.Time, p *progress) {
	_ = d.ws.SetReadDeadline(deadline)
	buf := bytes.NewBuffer(make([]byte, 0, 4096))
	for {
		_, r, err := d.ws.NextReader()
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return
		}
		t := clk.now()
		if bytes.HasPrefix(buf.Bytes(), typeBatch) {
			all := false
			batchSeqs(buf.Bytes(), func(seq uint64) {
				if seq > seqBase {
					all = d.rec.see(int(seq-seqBase-1), t, false) || all
				}
			})
			if all {
				p.finished()
			}
			continue
		}
		kind, seq, ok := head(buf.Bytes())
		if !ok || seq <= seqBase {
			continue
		}
		idx := int(seq - seqBase - 1)
		all := false
		if kind == 'd' {
			all = d.rec.see(idx, t, false)
		} else {
			d.rec.snapshots++
			for i := 0; i <= idx && i < len(d.rec.got); i++ {
				if d.rec.got[i] == 0 {
					all = d.rec.see(i, t, true) || all
				}
			}
		}
		if all {
			p.finished()
		}
	}
}

// poller is one AJAX display: GET /v1/cart every 250 ms with If-None-Match.
type poller struct {
	client *http.Client
	url    string
	etag   string
	ver    uint64
	rec    *record
	body   bytes.Buffer
}

var versionKey = []byte(`{"version":`)

// poll does one GET; it returns the version seen.
func (p *poller) poll(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return err
	}
	if p.etag != "" {
		req.Header.Set("If-None-Match", p.etag)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	p.body.Reset()
	if _, err := p.body.ReadFrom(resp.Body); err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusNotModified:
		return nil
	case http.StatusOK:
	default:
		return fmt.Errorf("poll: %s", resp.Status)
	}
	b := p.body.Bytes()
	if !bytes.HasPrefix(b, versionKey) {
		return errors.New("poll: no version")
	}
	e := len(versionKey)
	for e < len(b) && b[e] >= '0' && b[e] <= '9' {
		e++
	}
	v, err := strconv.ParseUint(string(b[len(versionKey):e]), 10, 64)
	if err != nil {
		return fmt.Errorf("poll version: %w", err)
	}
	p.etag = resp.Header.Get("ETag")
	p.ver = v
	return nil
}

// run polls every interval, starting at offset, until every change was seen
// or ctx ends. Versions skipped between two polls count as seen at the
// later poll: that is when such a page would have shown them (or newer).
func (p *poller) run(ctx context.Context, clk clock, start time.Time, interval time.Duration, pr *progress) {
	t := time.NewTimer(time.Until(start))
	defer t.Stop()
	for next := start; ; {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		last := p.ver
		if err := p.poll(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
		}
		now := clk.now()
		all := false
		for v := last + 1; v <= p.ver; v++ {
			all = p.rec.see(int(v-1), now, false) || all
		}
		if all {
			pr.finished()
			return
		}
		next = next.Add(interval)
		t.Reset(time.Until(next))
	}
}

// sender is the POS side: a WebSocket client that sends each change and, for
// the agent, reads the acks.
type sender struct {
	ws       *websocket.Conn
	seqBase  uint64
	acks     atomic.Int64
	rejected atomic.Int64
	readDone chan struct{}
}

func dialSender(ctx context.Context, impl, addr string) (*sender, error) {
	url := "ws://" + addr + "/pub"
	h := http.Header{}
	if impl == "agent" {
		url = "ws://" + addr + "/v1/pos?register=" + Register
		h.Set("Origin", POSOrigin)
	}
	ws, _, err := dialer.DialContext(ctx, url, h)
	if err != nil {
		return nil, fmt.Errorf("dial POS: %w", err)
	}
	s := &sender{ws: ws, readDone: make(chan struct{})}
	if impl != "agent" {
		close(s.readDone)
		return s, nil
	}
	_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		ws.Close()
		return nil, fmt.Errorf("POS welcome: %w", err)
	}
	i := bytes.Index(data, seqKey)
	if !bytes.Contains(data, []byte(`"type":"welcome"`)) || i < 0 {
		ws.Close()
		return nil, fmt.Errorf("POS welcome: unexpected %s", data)
	}
	e := i + len(seqKey)
	for e < len(data) && data[e] >= '0' && data[e] <= '9' {
		e++
	}
	if s.seqBase, err = strconv.ParseUint(string(data[i+len(seqKey):e]), 10, 64); err != nil {
		ws.Close()
		return nil, fmt.Errorf("POS welcome seq: %w", err)
	}
	return s, nil
}

// readAcks counts acks and errors until the socket closes or deadline.
func (s *sender) readAcks(deadline time.Time, errOut io.Writer) {
	defer close(s.readDone)
	_ = s.ws.SetReadDeadline(deadline)
	for {
		_, data, err := s.ws.ReadMessage()
		if err != nil {
			return
		}
		switch {
		case bytes.HasPrefix(data, []byte(`{"type":"ack"`)):
			s.acks.Add(1)
		default:
			if s.rejected.Add(1) <= 3 {
				fmt.Fprintf(errOut, "loadtest: POS message rejected: %.300s\n", data)
			}
		}
	}
}
