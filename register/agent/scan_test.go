package agent

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/register/configfile"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/testenv"
	"github.com/posdisplay/posdisplay/scanner"
	"github.com/posdisplay/posdisplay/scanner/scannertest"
)

// pageReader reads a POS socket in the background, so that a test can wait
// for "nothing" without a read deadline (which breaks a gorilla conn).
type pageReader struct {
	ws   *websocket.Conn
	msgs chan []byte
}

func readPage(t *testing.T, ws *websocket.Conn) *pageReader {
	p := &pageReader{ws: ws, msgs: make(chan []byte, 64)}
	go func() {
		defer close(p.msgs)
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			p.msgs <- data
		}
	}()
	return p
}

// readScan waits for the next scan message.
func readScan(t *testing.T, p *pageReader) protocol.Scan {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case data, ok := <-p.msgs:
			if !ok {
				t.Fatal("page socket closed while waiting for a scan")
			}
			var s protocol.Scan
			if err := json.Unmarshal(data, &s); err != nil {
				t.Fatalf("decode %s: %v", data, err)
			}
			if s.Type == protocol.TypeScan {
				return s
			}
		case <-timeout:
			t.Fatal("no scan in 10 s")
		}
	}
}

// expectNoScan checks that no scan arrives for a short while.
// expectNoScan fails if a scan arrives within 200 ms: not the next one
// before the ack, and not the unacked one again (a scan read just as the
// page's socket is registered goes to that page once, not again when the
// scan router hears of the page).
func expectNoScan(t *testing.T, p *pageReader) {
	t.Helper()
	timeout := time.After(200 * time.Millisecond)
	for {
		select {
		case data := <-p.msgs:
			if json.Valid(data) && string(data) != "" && !isType(data, protocol.TypeScan) {
				continue
			}
			t.Fatalf("got %s, want no scan until the ack", data)
		case <-timeout:
			return
		}
	}
}

func isType(data []byte, typ string) bool {
	var env struct{ Type string }
	return json.Unmarshal(data, &env) == nil && env.Type == typ
}

func ack(t *testing.T, ws *websocket.Conn, id string) {
	t.Helper()
	writeJSON(t, ws, map[string]any{"type": "ack", "id": id})
}

func TestSerialScansReachPageInOrder(t *testing.T) {
	pty, err := scannertest.OpenPTY()
	if err != nil {
		testenv.Missing(t, "a pty", "%v", err)
	}
	defer pty.Close()
	cfg := testConfig(t)
	sc := ScannerConfig{Register: "2"}
	sc.Name, sc.Kind = "front", scanner.KindSerial
	sc.Serial.Path, sc.Serial.Terminator = pty.Slave, scanner.TerminatorCR
	cfg.Scanners = []ScannerConfig{sc}
	r := start(t, cfg)
	pageWS := dialPOS(t, r, "2")
	page := readPage(t, pageWS)
	disp := dialDisplay(t, r, "2", nil)
	var rp replica
	rp.follow(t, disp, 0)

	// Wait until the agent holds the port open, then scan three codes in
	// one burst: they reach the page one at a time, each after the
	// previous ack, in order.
	waitFor(t, func() bool { return r.scanners.Status()[0].State == scanner.StateConnected })
	codes := []string{"]E04006381333931", "]C1" + "0104012345678901" + "10LOT7\x1d21SER9", "HA112"}
	for _, c := range codes {
		if _, err := pty.Write([]byte(c + "\r")); err != nil {
			t.Fatal(err)
		}
	}
	want := []struct{ code, sym string }{
		{"4006381333931", "ean-13"}, {"0104012345678901" + "10LOT7\x1d21SER9", "gs1-128"}, {"HA112", ""},
	}
	acked := ""
	for i, w := range want {
		s := readScan(t, page)
		for s.ID == acked { // a re-send of the scan just acked (see expectNoScan)
			s = readScan(t, page)
		}
		if s.Code != w.code || (w.sym != "" && s.Symbology != w.sym) || s.Source != "front" || s.ID == "" {
			t.Fatalf("scan %d: got %+v, want %q (%s)", i, s, w.code, w.sym)
		}
		if i < len(want)-1 {
			expectNoScan(t, page)
		}
		ack(t, pageWS, s.ID)
		acked = s.ID
	}
	// Displays got a "scanning" cue.
	m := readServer(t, disp)
	if m.Cue == nil || m.Cue.Cue != protocol.CueScanning || m.Cue.Register != "2" {
		t.Fatalf("display: got %+v, want a scanning cue", m)
	}
	waitFor(t, func() bool { return r.router.Pending("2") == 0 })
}

func TestScansSurvivePageReconnect(t *testing.T) {
	r := start(t, testConfig(t))
	pageWS := dialPOS(t, r, "1")
	page := readPage(t, pageWS)
	ids := []string{
		r.router.Submit("1", scanner.Scan{Code: "A1", Symbology: "code128", Source: "s"}),
		r.router.Submit("1", scanner.Scan{Code: "B2", Symbology: "code128", Source: "s"}),
	}
	// The page reloads before acking the first scan.
	if s := readScan(t, page); s.ID != ids[0] {
		t.Fatalf("first: got %+v", s)
	}
	pageWS.Close()
	waitFor(t, func() bool { return !r.ingest.PageConnectedNow("1") })
	ids = append(ids, r.router.Submit("1", scanner.Scan{Code: "C3", Symbology: "code128", Source: "s"}))
	pageWS = dialPOS(t, r, "1")
	page = readPage(t, pageWS)
	for i, want := range []string{"A1", "B2", "C3"} {
		s := readScan(t, page)
		if s.Code != want || s.ID != ids[i] {
			t.Fatalf("after reconnect %d: got %+v, want %s", i, s, want)
		}
		ack(t, pageWS, s.ID)
		ack(t, pageWS, s.ID) // a duplicate ack is harmless
	}
	waitFor(t, func() bool { return r.router.Pending("1") == 0 })
}

func TestUnackedScansAreDroppedAndReported(t *testing.T) {
	cfg := testConfig(t)
	cfg.ScanTTL = configfile.Duration(150 * time.Millisecond)
	r := start(t, cfg)
	for i := 0; i < 3; i++ {
		r.router.Submit("1", scanner.Scan{Code: fmt.Sprint("X", i), Source: "s", At: time.Now()})
	}
	waitFor(t, func() bool { return r.router.Pending("1") == 0 })
	if got := counterValue(t, r, `posdisplay_scans_total{outcome="dropped",reason="expired"}`); got != 3 {
		t.Fatalf("dropped scans metric: got %v, want 3", got)
	}
	// A page that connects later gets nothing stale.
	page := readPage(t, dialPOS(t, r, "1"))
	expectNoScan(t, page)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestScanAcksAreNotRateLimited: a page that used up its message budget can
// still ack scans, or the scan queue would stall.
func TestScanAcksAreNotRateLimited(t *testing.T) {
	cfg := testConfig(t)
	cfg.POS.RateLimit, cfg.POS.RateBurst = 0.001, 1
	r := start(t, cfg)
	pageWS := dialPOS(t, r, "1")
	writeJSON(t, pageWS, protocol.ClearMsg{Type: protocol.TypeClear, ID: protocol.StringID("a")}) // the whole budget
	if _, e := answer(t, pageWS); e != nil {
		t.Fatalf("first message: %+v", e)
	}
	writeJSON(t, pageWS, protocol.ClearMsg{Type: protocol.TypeClear, ID: protocol.StringID("b")})
	if _, e := answer(t, pageWS); e == nil || e.Code != protocol.CodeRateLimited {
		t.Fatalf("second message: got %+v, want rate_limited", e)
	}
	page := readPage(t, pageWS)
	id := r.router.Submit("1", scanner.Scan{Code: "A", Source: "s"})
	if s := readScan(t, page); s.ID != id {
		t.Fatalf("got %+v", s)
	}
	ack(t, pageWS, id)
	waitFor(t, func() bool { return r.router.Pending("1") == 0 })
}
