package storecert_test

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/storecert"
	"github.com/posdisplay/posdisplay/register/storecert/storecerttest"
	"github.com/posdisplay/posdisplay/register/testlog"
	"github.com/posdisplay/posdisplay/register/tlsid"
)

// records counts the log records at or above Warn, and passes all to t.Log.
type records struct {
	slog.Handler
	mu    *sync.Mutex
	warns *int
}

func (r records) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level >= slog.LevelWarn {
		r.mu.Lock()
		*r.warns++
		r.mu.Unlock()
	}
	return r.Handler.Handle(ctx, rec)
}

func (r records) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return *r.warns
}

func newLog(t *testing.T) (*slog.Logger, records) {
	r := records{Handler: testlog.New(t, slog.LevelDebug).Handler(), mu: new(sync.Mutex), warns: new(int)}
	return slog.New(r), r
}

type pair struct{ cert, key string }

func files(t *testing.T) pair {
	dir := t.TempDir()
	return pair{filepath.Join(dir, "display.crt"), filepath.Join(dir, "display.key")}
}

func cn(c *tls.Certificate) string { return c.Leaf.Subject.CommonName }

func TestReload(t *testing.T) {
	ca := storecerttest.NewCA(t, "Test Store CA")
	p := files(t)
	c1, k1 := ca.Issue(t, "v1", "lane1.store.test", "127.0.0.1")
	storecerttest.Replace(t, p.cert, c1)
	storecerttest.Replace(t, p.key, k1)
	log, rec := newLog(t)
	f, err := storecert.Load(p.cert, p.key, log)
	if err != nil {
		t.Fatal(err)
	}
	if got := cn(f.Certificate()); got != "v1" {
		t.Fatalf("after Load: serving %q, want v1", got)
	}

	// A renewal by rename (new files).
	c2, k2 := ca.Issue(t, "v2", "lane1.store.test", "127.0.0.1")
	storecerttest.Replace(t, p.cert, c2)
	storecerttest.Replace(t, p.key, k2)
	if got := cn(f.Certificate()); got != "v2" {
		t.Fatalf("after renaming v2 into place: serving %q, want v2", got)
	}

	// Half-way through the next one: the new certificate with the old key.
	c3, k3 := ca.Issue(t, "v3", "lane1.store.test", "127.0.0.1")
	storecerttest.Replace(t, p.cert, c3)
	for i := 0; i < 3; i++ {
		if got := cn(f.Certificate()); got != "v2" {
			t.Fatalf("certificate v3 with key v2: serving %q, want the last good v2", got)
		}
	}
	if got := rec.count(); got != 1 {
		t.Errorf("a mismatched pair seen on 3 handshakes logged %d warnings, want 1", got)
	}
	storecerttest.Replace(t, p.key, k3)
	if got := cn(f.Certificate()); got != "v3" {
		t.Fatalf("after the key caught up: serving %q, want v3", got)
	}

	// Rewritten in place (same files): size or mtime tell. The mtime is set
	// apart explicitly: two writes within one kernel tick share it.
	c4, k4 := ca.Issue(t, "v4", "lane1.store.test", "127.0.0.1")
	later := time.Now().Add(time.Minute)
	for _, w := range []struct {
		path string
		data []byte
	}{{p.cert, c4}, {p.key, k4}} {
		if err := os.WriteFile(w.path, w.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(w.path, later, later); err != nil {
			t.Fatal(err)
		}
	}
	if got := cn(f.Certificate()); got != "v4" {
		t.Fatalf("after rewriting in place: serving %q, want v4", got)
	}

	// Garbage, then a missing key: the last good pair, one warning each.
	before := rec.count()
	storecerttest.Replace(t, p.key, []byte("not a key"))
	_ = f.Certificate()
	if err := os.Remove(p.key); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if got := cn(f.Certificate()); got != "v4" {
			t.Fatalf("with a broken, then missing key: serving %q, want the last good v4", got)
		}
	}
	if got := rec.count() - before; got != 2 {
		t.Errorf("a broken key, then a missing one: %d warnings, want 2", got)
	}
}

func TestLoadRefusesUnusable(t *testing.T) {
	ca := storecerttest.NewCA(t, "Test Store CA")
	good, goodKey := ca.Issue(t, "good", "lane1.store.test")
	_, otherKey := ca.Issue(t, "other", "lane1.store.test")
	expired, expiredKey := ca.IssueUntil(t, time.Now().Add(-time.Hour), "expired", "lane1.store.test")
	for _, tc := range []struct {
		name      string
		cert, key []byte // nil: file missing
	}{
		{"missing key", good, nil},
		{"missing certificate", nil, goodKey},
		{"key of another certificate", good, otherKey},
		{"not PEM", []byte("hello"), goodKey},
		{"expired", expired, expiredKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := files(t)
			if tc.cert != nil {
				storecerttest.Replace(t, p.cert, tc.cert)
			}
			if tc.key != nil {
				storecerttest.Replace(t, p.key, tc.key)
			}
			log, _ := newLog(t)
			_, err := storecert.Load(p.cert, p.key, log)
			if !errors.Is(err, storecert.ErrUnusable) {
				t.Errorf("Load: got %v, want ErrUnusable", err)
			}
		})
	}
}

// TestServerConfigSelects: over a real TLS listener, a browser-like client
// (ALPN offered, the store CA trusted) verifies the store certificate, and
// sees the renewed one after a reload; a screen's pinned client (no ALPN)
// still gets the agent's own certificate it pinned.
func TestServerConfigSelects(t *testing.T) {
	ca := storecerttest.NewCA(t, "Test Store CA")
	p := files(t)
	c1, k1 := ca.Issue(t, "v1", "lane1.store.test", "127.0.0.1")
	storecerttest.Replace(t, p.cert, c1)
	storecerttest.Replace(t, p.key, k1)
	log, _ := newLog(t)
	f, err := storecert.Load(p.cert, p.key, log)
	if err != nil {
		t.Fatal(err)
	}
	id, err := tlsid.LoadOrCreate(t.TempDir(), tlsid.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", f.ServerConfig(id.Certificate))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	t.Cleanup(func() { ln.Close() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// Handshake, then close: the client reads the certificate.
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()

	browser := func(serverName string) string {
		t.Helper()
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: ca.Pool(), ServerName: serverName, NextProtos: []string{"h2", "http/1.1"}})
		if err != nil {
			t.Fatalf("browser-like client (server name %q): %v", serverName, err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	screen := func() {
		t.Helper()
		cfg, err := tlsid.PinnedClientConfig(id.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		c, err := tls.Dial("tcp", ln.Addr().String(), cfg)
		if err != nil {
			t.Fatalf("screen's pinned client: %v", err)
		}
		c.Close()
	}
	for _, name := range []string{"lane1.store.test", "127.0.0.1"} {
		if got := browser(name); got != "v1" {
			t.Errorf("browser reaching %s got %q, want v1", name, got)
		}
	}
	screen()

	c2, k2 := ca.Issue(t, "v2", "lane1.store.test", "127.0.0.1")
	storecerttest.Replace(t, p.cert, c2)
	storecerttest.Replace(t, p.key, k2)
	if got := browser("lane1.store.test"); got != "v2" {
		t.Errorf("after renewal the browser got %q, want v2", got)
	}
	screen()
}

// BenchmarkCertificate is the cost the reload check adds to each TLS
// handshake when nothing changed: two stats under a mutex.
func BenchmarkCertificate(b *testing.B) {
	ca := storecerttest.NewCA(b, "Test Store CA")
	dir := b.TempDir()
	certFile, keyFile := filepath.Join(dir, "display.crt"), filepath.Join(dir, "display.key")
	c, k := ca.Issue(b, "v1", "lane1.store.test")
	storecerttest.Replace(b, certFile, c)
	storecerttest.Replace(b, keyFile, k)
	f, err := storecert.Load(certFile, keyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if f.Certificate() == nil {
			b.Fatal("no certificate")
		}
	}
}
