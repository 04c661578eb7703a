package redisfeed_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/redisfeed"
	"github.com/posdisplay/posdisplay/register/redisfeed/redistest"
	"github.com/posdisplay/posdisplay/scanner"
)

// consumer is a backend-driven POS reading scans with the consumer group.
type consumer struct {
	t   testing.TB
	c   redis.UniversalClient
	key string
}

// read returns the next scans: new ones with ">", or this consumer's
// pending (delivered, not acked) ones with "0".
func (c *consumer) read(from string, block bool) []redis.XMessage {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	b := time.Duration(-1)
	if block {
		b = wait / 2
	}
	res, err := c.c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: redisfeed.DefaultScanGroup, Consumer: "pos-1", Streams: []string{c.key, from}, Block: b}).Result()
	if err == redis.Nil {
		return nil
	}
	if err != nil {
		c.t.Fatalf("xreadgroup %s: %v", from, err)
	}
	return res[0].Messages
}

func scanOf(t testing.TB, m redis.XMessage) protocol.Scan {
	var s protocol.Scan
	if err := json.Unmarshal([]byte(m.Values[redisfeed.FieldMsg].(string)), &s); err != nil {
		t.Fatalf("scan entry %v: %v", m.Values, err)
	}
	return s
}

// TestScansToBackend: a backend-driven POS reads scans with the consumer
// group; an unacked scan is delivered again (also after Redis is killed
// and restarted, and a scan read while Redis is down is sent once it is
// back); once acked it is not; the scans of a sale that ended are
// withdrawn (XACK and XDEL) before any scan of the next sale.
func TestScansToBackend(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	be := newBackend(t, srv)
	cfg := testConfig(t, srv.Addr, "1")
	cfg.Redis.Scans = true
	a := startAgent(t, cfg)
	waitState(t, a.Feed(), redisfeed.StateUp)
	pos := &consumer{t: t, c: be.c, key: redisfeed.ScansKey(prefix, testStore, "1")}
	res := be.results("1")
	res.until(be.mustAdd("1", cartMsg(t, basket("1", "S-1", 1), "")))

	id := a.SubmitScan("1", scanner.Scan{Code: "4006381333931", Symbology: scanner.SymbologyEAN13, Source: "lane1"})
	got := pos.read(">", true)
	if len(got) != 1 || scanOf(t, got[0]).ID != id || scanOf(t, got[0]).Order != "S-1" || scanOf(t, got[0]).GTIN != "4006381333931" {
		t.Fatalf("first read: got %v, want scan %s of order S-1", got, id)
	}
	// Not acked: Redis keeps it pending, across kill -9 and restart.
	srv.Restart()
	if again := pos.read("0", false); len(again) != 1 || again[0].ID != got[0].ID {
		t.Fatalf("pending after restart: got %v, want %s again", again, got[0].ID)
	}
	// A scan read while Redis is down is sent when it is back.
	srv.Kill9()
	waitState(t, a.Feed(), redisfeed.StateDegraded)
	id2 := a.SubmitScan("1", scanner.Scan{Code: "4012345678901", Symbology: scanner.SymbologyEAN13, Source: "lane1"})
	srv.Restart()
	got2 := pos.read(">", true)
	if len(got2) != 1 || scanOf(t, got2[0]).ID != id2 {
		t.Fatalf("after the outage: got %v, want scan %s", got2, id2)
	}
	if n := be.c.XAck(context.Background(), pos.key, redisfeed.DefaultScanGroup, got[0].ID, got2[0].ID).Val(); n != 2 {
		t.Fatalf("xack: %d acked, want 2", n)
	}
	if again := pos.read("0", false); len(again) != 0 {
		t.Fatalf("pending after ack: got %v, want none", again)
	}

	// A scan left unacked when its sale ends is withdrawn.
	id3 := a.SubmitScan("1", scanner.Scan{Code: "5012345678900", Symbology: scanner.SymbologyEAN13, Source: "lane1"})
	got3 := pos.read(">", true)
	if len(got3) != 1 || scanOf(t, got3[0]).ID != id3 {
		t.Fatalf("got %v, want scan %s", got3, id3)
	}
	res.until(be.mustAdd("1", `{"type":"clear"}`))
	res.until(be.mustAdd("1", cartMsg(t, basket("1", "S-2", 1), "")))
	id4 := a.SubmitScan("1", scanner.Scan{Code: "4001234567895", Symbology: scanner.SymbologyEAN13, Source: "lane1"})
	got4 := pos.read(">", true)
	if len(got4) != 1 || scanOf(t, got4[0]).ID != id4 || scanOf(t, got4[0]).Order != "S-2" {
		t.Fatalf("got %v, want scan %s of order S-2", got4, id4)
	}
	pending := be.c.XPendingExt(context.Background(), &redis.XPendingExtArgs{Stream: pos.key, Group: redisfeed.DefaultScanGroup, Start: "-", End: "+", Count: 10}).Val()
	if len(pending) != 1 || pending[0].ID != got4[0].ID {
		t.Fatalf("pending: got %v, want only the new sale's scan %s (the old sale's withdrawn)", pending, got4[0].ID)
	}
	if n := be.c.XLen(context.Background(), pos.key).Val(); n != 1 {
		t.Errorf("scans stream holds %d entries, want 1: every scan of the ended sale deleted", n)
	}
}
