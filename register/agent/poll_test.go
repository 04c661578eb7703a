package agent

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/protocol"
)

// TestHeldPollsCountAgainstDisplayBudget: polls held on the display
// listener (the polling transport) count against its connection budget and
// are never shed to make room; past the budget new display connections are
// refused, while the POS listener, with its own budget, keeps answering.
func TestHeldPollsCountAgainstDisplayBudget(t *testing.T) {
	cfg := testConfig(t)
	cfg.Display.MaxConnections = minDisplayConnections
	r := start(t, cfg)
	body := fmt.Sprintf(`{"type":"hello","register":"1","token":%q,"resume":{"epoch":%q,"seq":0}}`, testToken, r.Epoch())
	req := fmt.Sprintf("POST %s?wait=25000 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		protocol.PollPath, len(body), body)
	var held []net.Conn
	for i := range cfg.Display.MaxConnections {
		// Each tablet has its own address; a token holds a few polls per
		// address at most.
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(2+i/2))}}
		c, err := d.Dial("tcp", r.DisplayAddr().String())
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Hub().WaitPolls(ctx, len(held)); err != nil {
		t.Fatal(err)
	}

	// The budget is full of requests in flight: nothing can be shed.
	extra, err := net.Dial("tcp", r.DisplayAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	_ = extra.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := extra.Read(make([]byte, 1)); err == nil {
		t.Fatalf("a display connection over the budget was served (%d bytes)", n)
	}
	if got := r.dispLimit.Refused.Load(); got < 1 {
		t.Errorf("refused display connections: got %d, want at least 1", got)
	}
	if got := r.dispLimit.Shed.Load(); got != 0 {
		t.Errorf("shed display connections: got %d, want 0 (held polls are never shed)", got)
	}
	if n := r.Hub().Polls(); n != len(held) {
		t.Errorf("held polls after the refusal: got %d, want %d", n, len(held))
	}
	resp, err := http.Get(fmt.Sprintf("http://%s/healthz", r.POSAddr()))
	if err != nil {
		t.Fatalf("POS /healthz with the display budget full: %v", err)
	}
	resp.Body.Close()

	// A change answers every held poll.
	pos := dialPOS(t, r, "1")
	sendCart(t, pos, "c1", basket("1", 1))
	for i, c := range held {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("poll %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"type":"delta"`) {
			t.Fatalf("poll %d: got %s %s, want 200 with the delta", i, resp.Status, b)
		}
	}
}
