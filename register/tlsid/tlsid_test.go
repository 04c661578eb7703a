package tlsid

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLoadOrCreateCreatesThenLoads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	first, err := LoadOrCreate(dir, Options{Hosts: []string{"register1", "192.0.2.7"}})
	if err != nil {
		t.Fatalf("first LoadOrCreate: %v", err)
	}
	for _, name := range []string{CertFile, KeyFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
			t.Errorf("%s mode = %v, want %v", name, got, want)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode = %v (err %v), want 0700", fi.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("state dir holds %d entries, want 2 (no leftover temp files)", len(entries))
	}
	leaf := first.Certificate.Leaf
	if got, want := first.Fingerprint, Fingerprint(leaf); got != want {
		t.Errorf("Identity.Fingerprint = %q, want %q", got, want)
	}
	if len(first.Fingerprint) != 64 || strings.ToLower(first.Fingerprint) != first.Fingerprint {
		t.Errorf("fingerprint %q is not 64 lowercase hex digits", first.Fingerprint)
	}
	if err := leaf.VerifyHostname("register1"); err != nil {
		t.Errorf("certificate lacks SAN register1: %v", err)
	}
	for _, h := range []string{"localhost", "127.0.0.1", "::1", "192.0.2.7"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("certificate lacks SAN %s: %v", h, err)
		}
	}
	if got := time.Until(leaf.NotAfter); got < 19*365*24*time.Hour {
		t.Errorf("certificate valid for %v, want about %v", got, Validity)
	}

	if err := os.Chmod(filepath.Join(dir, KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	second, err := LoadOrCreate(dir, Options{})
	if err != nil {
		t.Fatalf("second LoadOrCreate: %v", err)
	}
	if second.Fingerprint != first.Fingerprint {
		t.Errorf("reloaded fingerprint = %s, want %s (same identity)", second.Fingerprint, first.Fingerprint)
	}
	if fi, _ := os.Stat(filepath.Join(dir, KeyFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode after loading a 0644 key = %v, want 0600", fi.Mode().Perm())
	}
}

func TestLoadOrCreateCorrupt(t *testing.T) {
	_, otherDir := newIdentityDir(t)
	tests := []struct {
		name   string
		mutate func(t *testing.T, dir string)
	}{
		{"garbage cert", func(t *testing.T, dir string) { write(t, dir, CertFile, "not a certificate") }},
		{"garbage key", func(t *testing.T, dir string) {
			write(t, dir, KeyFile, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
		}},
		{"truncated cert", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, CertFile))
			write(t, dir, CertFile, string(b[:len(b)/2]))
		}},
		{"empty key", func(t *testing.T, dir string) { write(t, dir, KeyFile, "") }},
		{"key of another identity", func(t *testing.T, dir string) {
			b, err := os.ReadFile(filepath.Join(otherDir, KeyFile))
			if err != nil {
				t.Fatal(err)
			}
			write(t, dir, KeyFile, string(b))
		}},
		{"cert missing", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, CertFile)) }},
		{"key missing", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, KeyFile)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := LoadOrCreate(dir, Options{}); err != nil {
				t.Fatal(err)
			}
			tt.mutate(t, dir)
			before := snapshot(t, dir)
			_, err := LoadOrCreate(dir, Options{})
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("LoadOrCreate error = %v, want ErrCorrupt", err)
			}
			if after := snapshot(t, dir); after != before {
				t.Errorf("corrupt identity files were modified")
			}
		})
	}
}

func write(t *testing.T, dir, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var sb strings.Builder
	for _, n := range []string{CertFile, KeyFile} {
		b, _ := os.ReadFile(filepath.Join(dir, n))
		sb.WriteString(n + ":" + string(b) + "\n")
	}
	return sb.String()
}

// serve runs a TLS echo server on 127.0.0.1 with id's certificate until the
// test ends.
func serve(t *testing.T, id *Identity) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", id.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				io.Copy(c, c)
			})
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

func newIdentity(t *testing.T) *Identity {
	t.Helper()
	id, _ := newIdentityDir(t)
	return id
}

func newIdentityDir(t *testing.T) (*Identity, string) {
	t.Helper()
	dir := t.TempDir()
	id, err := LoadOrCreate(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return id, dir
}

func TestPinnedClientConfig(t *testing.T) {
	good := newIdentity(t)
	rogue := newIdentity(t)
	goodAddr := serve(t, good)
	rogueAddr := serve(t, rogue)

	tests := []struct {
		name      string
		addr      string
		pin       string
		untrusted bool
	}{
		{"pinned certificate", goodAddr, good.Fingerprint, false},
		{"pin in upper case", goodAddr, strings.ToUpper(good.Fingerprint), false},
		{"rogue with other certificate", rogueAddr, good.Fingerprint, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := PinnedClientConfig(tt.pin)
			if err != nil {
				t.Fatal(err)
			}
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", tt.addr, cfg)
			if tt.untrusted {
				if err == nil {
					conn.Close()
					t.Fatalf("dial %s succeeded, want ErrUntrusted", tt.addr)
				}
				if !errors.Is(err, ErrUntrusted) {
					t.Fatalf("dial error = %v, want errors.Is ErrUntrusted", err)
				}
				ue, ok := errors.AsType[*UntrustedError](err)
				if !ok {
					t.Fatalf("dial error %v is not an *UntrustedError", err)
				}
				if ue.Got != rogue.Fingerprint || ue.Want != good.Fingerprint {
					t.Errorf("UntrustedError = got %s want %s, want got %s want %s", ue.Got, ue.Want, rogue.Fingerprint, good.Fingerprint)
				}
				return
			}
			if err != nil {
				t.Fatalf("dial pinned register: %v", err)
			}
			defer conn.Close()
			if _, err := conn.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4)
			if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ping" {
				t.Fatalf("echo = %q, %v, want %q", buf, err, "ping")
			}
		})
	}
}

func TestPinnedClientConfigRejectsBadPin(t *testing.T) {
	for _, pin := range []string{"", "abc", strings.Repeat("g", 64), strings.Repeat("a", 62)} {
		if _, err := PinnedClientConfig(pin); err == nil {
			t.Errorf("PinnedClientConfig(%q) error = nil, want error", pin)
		}
	}
}

func TestVerifyPinNoCertificate(t *testing.T) {
	err := verifyPin(nil, strings.Repeat("a", 64))
	if !errors.Is(err, ErrUntrusted) {
		t.Errorf("verifyPin(nil) = %v, want ErrUntrusted", err)
	}
}

// FuzzParse feeds arbitrary file contents to the identity loader: a
// damaged state directory must give ErrCorrupt, never a panic.
func FuzzParse(f *testing.F) {
	certPEM, keyPEM, err := create(time.Now(), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(certPEM, keyPEM)
	f.Add(certPEM[:len(certPEM)/2], keyPEM)
	f.Add([]byte{}, []byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		id, err := parse(certPEM, keyPEM, "cert", "key")
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("parse error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if id.Fingerprint != Fingerprint(id.Certificate.Leaf) {
			t.Fatalf("fingerprint mismatch")
		}
	})
}
