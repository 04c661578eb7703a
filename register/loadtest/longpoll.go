package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// ImplAgentPoll is the real agent with its displays on the polling
// transport (docs/protocol.md, "Polling transport") instead of WebSockets:
// the same agent child and POS sender as ImplAgent.
const ImplAgentPoll = "agent-poll"

// longPollWait is the hold the displays ask for, as the web display does.
const longPollWait = time.Second

// retryPause is how long a poller waits after a failed poll.
const retryPause = 50 * time.Millisecond

// longPoller is one display on the agent's polling transport. Each has its
// own loopback source address (127.0.x.y), as each tablet has its own: the
// agent keeps at most a few idle keep-alive connections per address, and a
// thousand pollers from one address would see theirs closed between polls.
type longPoller struct {
	client *http.Client
	tr     *http.Transport
	url    string
	epoch  string
	seq    uint64
	rec    *record
}

// pollerAddr is the source address of poller i: 127.0.0.2 upwards.
func pollerAddr(i int) net.IP {
	n := i + 2
	return net.IPv4(127, byte(n>>16), byte(n>>8), byte(n))
}

func newLongPoller(i int, addr string, k int) *longPoller {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: pollerAddr(i)}, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute, DisableCompression: true}
	return &longPoller{
		client: &http.Client{Transport: tr, Timeout: longPollWait + 10*time.Second},
		tr:     tr,
		url:    "http://" + addr + "/v1/display/poll?wait=" + strconv.Itoa(int(longPollWait/time.Millisecond)),
		rec:    newRecord(k),
	}
}

// post sends one hello (resuming unless fresh) and returns the answer's
// messages.
func (p *longPoller) post(ctx context.Context, fresh bool) ([]json.RawMessage, error) {
	hello := fmt.Appendf(nil, `{"type":"hello","register":%q,"token":%q`, Register, DisplayToken)
	if !fresh {
		hello = fmt.Appendf(hello, `,"resume":{"epoch":%q,"seq":%d}`, p.epoch, p.seq)
	}
	hello = append(hello, '}')
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(hello))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("poll: %s", resp.Status)
	}
	// Read to the end, so that the connection is kept for the next poll.
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("poll answer: %w", err)
	}
	var msgs []json.RawMessage
	if err := json.Unmarshal(body, &msgs); err != nil {
		return nil, fmt.Errorf("poll answer: %w", err)
	}
	return msgs, nil
}

// connect takes the first snapshot and returns its seq.
func (p *longPoller) connect(ctx context.Context) (uint64, error) {
	msgs, err := p.post(ctx, true)
	if err != nil {
		return 0, err
	}
	for _, m := range msgs {
		var s struct {
			Type  string `json:"type"`
			Epoch string `json:"epoch"`
			Seq   uint64 `json:"seq"`
		}
		if json.Unmarshal(m, &s) == nil && s.Type == "snapshot" {
			p.epoch, p.seq = s.Epoch, s.Seq
			return s.Seq, nil
		}
	}
	return 0, errors.New("poll: no snapshot in the first answer")
}

// run polls until every change was seen or ctx ends. Change k is seq
// seqBase+1+k; a snapshot covers every change up to its seq.
func (p *longPoller) run(ctx context.Context, clk clock, seqBase uint64, pr *progress) {
	defer p.tr.CloseIdleConnections()
	for ctx.Err() == nil {
		msgs, err := p.post(ctx, false)
		if err != nil {
			// Retry after a pause, as a display would; ctx bounds the
			// retries. A refusal is a finding: the table shows the
			// changes it cost as lost or late.
			t := time.NewTimer(retryPause)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			continue
		}
		t := clk.now()
		all := false
		for _, m := range msgs {
			kind, seq, ok := head(m)
			if !ok || seq <= seqBase {
				continue
			}
			idx := int(seq - seqBase - 1)
			if kind == 'd' {
				all = p.rec.see(idx, t, false) || all
			} else {
				p.rec.snapshots++
				for i := 0; i <= idx && i < len(p.rec.got); i++ {
					if p.rec.got[i] == 0 {
						all = p.rec.see(i, t, true) || all
					}
				}
			}
			p.seq = max(p.seq, seq)
		}
		if all {
			pr.finished()
			return
		}
	}
}
