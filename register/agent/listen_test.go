package agent

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/stream"
)

func TestSplitBudget(t *testing.T) {
	tests := []struct {
		nofile       uint64
		pos, display int
		want         budget
		wantErr      bool
	}{
		{nofile: 20000, want: budget{POS: 256, Display: 2048}},
		{nofile: 1200, want: budget{POS: 256, Display: 1200 - 256 - fdReserve}},
		{nofile: 1024, pos: 64, want: budget{POS: 64, Display: 1024 - 64 - fdReserve}},
		{nofile: 20000, display: 100, want: budget{POS: 256, Display: 100}},
		{nofile: 1 << 62, want: budget{POS: 256, Display: 2048}},
		{nofile: 1200, display: 1000, wantErr: true}, // 256 + 64 + 1000 > 1200
		{nofile: 256, wantErr: true},
	}
	for _, tt := range tests {
		got, err := splitBudget(tt.nofile, tt.pos, tt.display)
		if tt.wantErr {
			if !errors.Is(err, errTooFewFDs) {
				t.Errorf("splitBudget(%d, %d, %d) = %+v, %v; want errTooFewFDs", tt.nofile, tt.pos, tt.display, got, err)
			}
			continue
		}
		tt.want.NoFile = tt.nofile
		if err != nil || got != tt.want {
			t.Errorf("splitBudget(%d, %d, %d) = %+v, %v; want %+v", tt.nofile, tt.pos, tt.display, got, err, tt.want)
		}
		if int64(got.POS)+int64(got.Display)+fdReserve > int64(tt.nofile) {
			t.Errorf("splitBudget(%d) = %+v: over the descriptor limit", tt.nofile, got)
		}
	}
}

// TestEveryListenerHasTimeouts: without an idle timeout, idle keep-alive
// connections on the display port were held forever.
func TestEveryListenerHasTimeouts(t *testing.T) {
	r := start(t, testConfig(t))
	for name, s := range map[string]*http.Server{"pos": r.posSrv, "display": r.dispSrv} {
		if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 {
			t.Errorf("%s server timeouts: header %v read %v write %v idle %v; want all set",
				name, s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout)
		}
	}
}

// TestDisplayHealthSaysOnlyOK: the display listener faces the store
// network; register ids, sale state and POS presence stay on loopback.
func TestDisplayHealthSaysOnlyOK(t *testing.T) {
	r := start(t, testConfig(t))
	resp, err := http.Get(fmt.Sprintf("http://%s/healthz", r.DisplayAddr()))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		t.Errorf("display /healthz = %d %q, want 200 \"ok\"", resp.StatusCode, body)
	}
	resp, err = http.Get(fmt.Sprintf("http://%s/healthz", r.POSAddr()))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"registers"`) {
		t.Errorf("POS /healthz = %q, want the details", body)
	}
}

// TestDisplayFloodLeavesPOSAndDisplays fills the display listener's budget
// with connections that never send a request, then more: the POS listener
// still answers, and a display still connects (the oldest silent
// connections are shed to make room). Idle keep-alive connections from one
// host are closed beyond a few.
func TestDisplayFloodLeavesPOSAndDisplays(t *testing.T) {
	cfg := testConfig(t)
	cfg.Display.MaxConnections = 40
	r := start(t, cfg)
	var silent []net.Conn
	for i := range 3 * cfg.Display.MaxConnections {
		c, err := net.Dial("tcp", r.DisplayAddr().String())
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		silent = append(silent, c)
	}
	// The agent has accepted every one of them once this request is
	// answered (connections are accepted in order).
	resp, err := http.Get(fmt.Sprintf("http://%s/healthz", r.DisplayAddr()))
	if err != nil {
		t.Fatalf("display /healthz after the flood: %v", err)
	}
	resp.Body.Close()
	if open := r.dispLimit.Open(); open > cfg.Display.MaxConnections {
		t.Errorf("display listener holds %d connections, want at most %d", open, cfg.Display.MaxConnections)
	}
	if got := r.dispLimit.Shed.Load(); got < int64(len(silent)-cfg.Display.MaxConnections) {
		t.Errorf("shed %d connections, want at least %d", got, len(silent)-cfg.Display.MaxConnections)
	}
	resp, err = http.Get(fmt.Sprintf("http://%s/healthz", r.POSAddr()))
	if err != nil {
		t.Fatalf("POS /healthz during the flood: %v", err)
	}
	resp.Body.Close()
	dialDisplay(t, r, "1", nil)

	// Idle keep-alive connections from this host: only a few stay.
	var idle []net.Conn
	for range 2 * displayIdlePerHost {
		c, err := net.Dial("tcp", r.DisplayAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("keep-alive request: %v", err)
		}
		idle = append(idle, c)
	}
	// Whichever way each was closed (over the per-host limit, or shed at
	// the listener's limit), at most displayIdlePerHost stay open. An open
	// one times out on this read; a closed one returns EOF at once.
	var closed atomic.Int64
	var wg sync.WaitGroup
	for _, c := range idle {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := c.Read(make([]byte, 1)); err == io.EOF {
				closed.Add(1)
			}
		}()
	}
	wg.Wait()
	if open := len(idle) - int(closed.Load()); open > displayIdlePerHost {
		t.Errorf("%d idle keep-alive connections from one host stayed open, want at most %d", open, displayIdlePerHost)
	}
}

// TestPOSBurstFitsDisplayQueue: a burst within the POS's rate limit must
// never push a healthy display onto the snapshot path. Here the display
// does not get to read during the burst at all.
func TestPOSBurstFitsDisplayQueue(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st := stream.New("1", "e", cart.Empty("1", "USD"), cfg.Display.History)
	sub := stream.NewSub(cfg.Display.QueueFrames)
	if _, err := st.Subscribe(nil, sub); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	for i := range int(cfg.POS.RateBurst) {
		c := basket("1", 1+i%5)
		c.Order = fmt.Sprint("burst-", i)
		if _, err := st.Publish(c, now); err != nil {
			t.Fatal(err)
		}
	}
	// Room is left for the writer's wake marks and cues as well.
	for range queueHeadroom {
		sub.Wake(&stream.Frame{Kind: "wake"})
	}
	if sub.TakeOverflow() {
		t.Errorf("a burst of %g changes overflowed a display queue of %d frames", cfg.POS.RateBurst, cfg.Display.QueueFrames)
	}
	cfg.Display.QueueFrames = 64
	if err := cfg.Validate(); err == nil {
		t.Errorf("Validate() accepted display.queue_frames 64 with pos.rate_burst %g", cfg.POS.RateBurst)
	}
}

// TestUnlimitedBurstIsNotChecked: a rate limit turned off in effect (a
// burst no queue can hold, as the load tests configure) is allowed.
func TestUnlimitedBurstIsNotChecked(t *testing.T) {
	cfg := DefaultConfig()
	cfg.POS.RateLimit, cfg.POS.RateBurst = 1e6, 1e6
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate() with pos.rate_burst 1e6 = %v, want nil", err)
	}
}
