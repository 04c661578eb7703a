package chaos

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/procstat"
)

// TestStalledTLSDisplays connects displays over TLS (the packaged setting)
// that stop reading, with tiny receive buffers, while the POS changes the
// cart 50 times a second: the agent's kernel send queues must stay bounded
// (≤ 256 KiB per display), its memory small, and every display be cut
// back: the ones that stall for a few seconds get one snapshot instead of
// the deltas they missed; the ones that never read again are dropped.
func TestStalledTLSDisplays(t *testing.T) {
	stalled, slow, hold := 50, 10, 12*time.Second
	if *long {
		stalled, hold = 500, 30*time.Second
	}
	cfg := newAgentConfig(t)
	cfg.tls = true
	a := startAgent(t, cfg)
	_, portStr, _ := net.SplitHostPort(cfg.displayAddr)
	port, _ := strconv.Atoi(portStr)

	var conns []*websocket.Conn
	for i := range stalled + slow {
		ws, err := dialStalled(a)
		if err != nil {
			t.Fatalf("display %d: %v", i, err)
		}
		defer ws.Close()
		conns = append(conns, ws)
	}
	pos, err := dialPOS(a)
	if err != nil {
		t.Fatal(err)
	}
	defer pos.close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var published sync.WaitGroup
	var mu sync.Mutex
	n := 0
	published.Add(1)
	go func() { // 50 changes/s until the end
		defer published.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				mu.Lock()
				n++
				c := bigCart(n)
				mu.Unlock()
				_ = pos.send(c, n)
			}
		}
	}()
	seqNow := func() int { mu.Lock(); defer mu.Unlock(); return n }

	// The slow displays resume after 4 s (before the 8 s silence limit).
	type slowResult struct {
		deltasBefore, missed int
		snapshot             bool
		err                  error
	}
	results := make(chan slowResult, slow)
	stallStart := seqNow()
	for _, ws := range conns[stalled:] {
		go func() {
			select {
			case <-time.After(4 * time.Second):
			case <-ctx.Done():
				return
			}
			r := slowResult{missed: seqNow() - stallStart}
			_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
			for !r.snapshot {
				_, data, err := ws.ReadMessage()
				if err != nil {
					r.err = err
					break
				}
				var m struct{ Type string }
				_ = json.Unmarshal(data, &m)
				switch m.Type {
				case "delta":
					r.deltasBefore++
				case "snapshot":
					r.snapshot = true
				}
			}
			results <- r
		}()
	}

	var maxTotal, maxOne, peakRSS, memTotal, memOne, maxTB int64
	sample := time.NewTicker(250 * time.Millisecond)
	end := time.After(hold)
sampling:
	for {
		select {
		case <-sample.C:
			total, one, err := sendQueues(port)
			if err != nil {
				t.Fatal(err)
			}
			maxTotal, maxOne = max(maxTotal, total), max(maxOne, one)
			mt, mo, tb, err := sendMemory(port)
			if err != nil {
				t.Fatal(err)
			}
			memTotal, memOne, maxTB = max(memTotal, mt), max(memOne, mo), max(maxTB, tb)
			if u, err := procstat.Read(a.pid()); err == nil {
				peakRSS = max(peakRSS, u.PeakRSS)
			}
		case <-end:
			break sampling
		}
	}
	sample.Stop()
	h, err := a.health()
	if err != nil {
		t.Fatal(err)
	}
	silent, _ := a.metric(`posdisplay_displays_cut_total{reason="silent"}`)
	cutSlow, _ := a.metric(`posdisplay_displays_cut_total{reason="slow"}`)
	cancel()
	published.Wait()

	snapshots := 0
	for range slow {
		r := <-results
		switch {
		case r.err != nil:
			t.Errorf("slow display: %v after %d deltas", r.err, r.deltasBefore)
		case r.deltasBefore >= r.missed:
			t.Errorf("slow display replayed %d deltas of the %d it missed, want a snapshot instead", r.deltasBefore, r.missed)
		default:
			snapshots++
		}
	}
	if maxOne > 256<<10 || memOne > 256<<10 || maxTB > 256<<10 {
		t.Errorf("one display's kernel send side: queue %d, memory %d, buffer limit %d bytes; want each <= 256 KiB", maxOne, memOne, maxTB)
	}
	if budget := int64(stalled+slow) * (256 << 10); memTotal > budget || memTotal > 128<<20 {
		t.Errorf("kernel send memory: %d bytes in total, want <= %d and <= 128 MiB", memTotal, budget)
	}
	if peakRSS > 80<<20 {
		t.Errorf("agent peak RSS %d MiB, want < 80 MiB", peakRSS>>20)
	}
	// The stalled ones never answer a ping: all dropped by the end.
	if got := h.Registers[register].Displays; got > slow {
		t.Errorf("displays still attached after %v: %d, want at most the %d slow ones", hold, got, slow)
	}
	t.Logf("%d TLS displays stalled %v + %d for 4 s, 50 changes/s (%d changes): kernel send queues (tx_queue) max %d KiB total, %d KiB largest; send memory (ss wmem_queued) max %d KiB total, %d KiB largest, buffer limit (tb) %d KiB; agent peak RSS %d MiB",
		stalled, hold, slow, seqNow(), maxTotal>>10, maxOne>>10, memTotal>>10, memOne>>10, maxTB>>10, peakRSS>>20)
	t.Logf("slow displays given a snapshot instead of their backlog: %d/%d; stalled dropped as silent: %v; cut back as slow: %v; attached at the end: %d",
		snapshots, slow, silent, cutSlow, h.Registers[register].Displays)
}

// bigCart is cart n with 12 lines whose prices all change each time, so
// every delta carries a dozen updates (about 2 KB).
func bigCart(n int) cart.Cart {
	c := cart.Empty(register, "USD")
	c.State = cart.StateOpen
	c.Order = fmt.Sprintf("s-%d", n)
	for i := range 12 {
		p := cart.Money(100 + n + i)
		c.Lines = append(c.Lines, cart.Line{ID: fmt.Sprintf("l%d", i), Title: fmt.Sprintf("Stalled item number %d with a longer title", i), Quantity: 1000, UnitPrice: p, Total: p})
		c.Subtotal += p
	}
	c.Total = c.Subtotal
	return c
}

// dialStalled opens a TLS display socket with a 4 KiB receive buffer,
// reads its welcome and snapshot, and returns it; the caller stops reading.
func dialStalled(a *agentProc) (*websocket.Conn, error) {
	nd := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	d := websocket.Dialer{NetDialContext: nd.DialContext, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, HandshakeTimeout: 10 * time.Second}
	ws, _, err := d.Dial(a.displayURL(), nil)
	if err != nil {
		return nil, err
	}
	hello := fmt.Sprintf(`{"type":"hello","register":%q,"token":%q}`, register, displayToken)
	if err := ws.WriteMessage(websocket.TextMessage, []byte(hello)); err != nil {
		ws.Close()
		return nil, err
	}
	for range 2 { // welcome, snapshot
		if _, _, err := ws.ReadMessage(); err != nil {
			ws.Close()
			return nil, err
		}
	}
	return ws, nil
}

// sendMemory asks ss for the send-side kernel memory of the established
// sockets on local port port: the sum and largest wmem_queued (bytes the
// kernel holds for sending, with overhead) and the largest send-buffer
// limit (tb).
func sendMemory(port int) (total, largest, maxTB int64, err error) {
	out, err := exec.Command("ss", "-tmnH", "state", "established", "sport", "= :"+strconv.Itoa(port)).Output()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("ss: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		_, sk, ok := strings.Cut(line, "skmem:(")
		if !ok {
			continue
		}
		sk, _, _ = strings.Cut(sk, ")")
		for _, kv := range strings.Split(sk, ",") {
			var v int64
			switch {
			case strings.HasPrefix(kv, "tb"):
				v, _ = strconv.ParseInt(kv[2:], 10, 64)
				maxTB = max(maxTB, v)
			case strings.HasPrefix(kv, "w"):
				v, _ = strconv.ParseInt(kv[1:], 10, 64)
				total += v
				largest = max(largest, v)
			}
		}
	}
	return total, largest, maxTB, nil
}

// sendQueues sums the kernel send queues (tx_queue) of the established
// TCP sockets whose local port is port, and returns the largest one too.
func sendQueues(port int) (total, largest int64, err error) {
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 5 || fields[3] != "01" { // ESTABLISHED
				continue
			}
			_, lport, ok := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseInt(lport, 16, 32); !ok || err != nil || int(p) != port {
				continue
			}
			txs, _, _ := strings.Cut(fields[4], ":")
			tx, err := strconv.ParseInt(txs, 16, 64)
			if err != nil {
				continue
			}
			total += tx
			largest = max(largest, tx)
		}
		f.Close()
	}
	return total, largest, nil
}

// TestSIGTERMWithStalledDisplays: with TLS displays that stopped reading
// and full send buffers, SIGTERM still ends the agent within 2 s (close
// frames are attempted, then the sockets are cut).
func TestSIGTERMWithStalledDisplays(t *testing.T) {
	stalled := 20
	if *long {
		stalled = 500
	}
	cfg := newAgentConfig(t)
	cfg.tls = true
	a := startAgent(t, cfg)
	for i := range stalled {
		ws, err := dialStalled(a)
		if err != nil {
			t.Fatalf("display %d: %v", i, err)
		}
		defer ws.Close()
	}
	pos, err := dialPOS(a)
	if err != nil {
		t.Fatal(err)
	}
	defer pos.close()
	_, portStr, _ := net.SplitHostPort(cfg.displayAddr)
	port, _ := strconv.Atoi(portStr)
	// Change the cart until the send queues hold data the displays will
	// never read (bounded: at most 10 s of 50 changes/s).
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for n := 1; n <= 500; n++ {
		<-tick.C
		_ = pos.send(bigCart(n), n)
		if n%25 == 0 {
			if _, largest, _ := sendQueues(port); largest > 64<<10 {
				break
			}
		}
	}
	start := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		t.Fatal("agent still running 10 s after SIGTERM")
	}
	took := time.Since(start)
	t.Logf("SIGTERM with %d stalled TLS displays: exited after %v", stalled, took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("exit took %v after SIGTERM, want <= 2 s", took)
	}
}
