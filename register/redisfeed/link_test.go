package redisfeed_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/agent"
	"github.com/posdisplay/posdisplay/register/redisfeed"
	"github.com/posdisplay/posdisplay/register/redisfeed/redistest"
)

// TestLinkErrors: a wrong password, an ACL user without access to its
// store's keys, and a server certificate from another CA each leave the
// agent running, its link degraded with the reason an operator must fix,
// and /healthz saying so.
func TestLinkErrors(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCA(t, "posdisplay test CA")
	other, _ := newCA(t, "someone else's CA")
	certFile, keyFile := serverCert(t, dir, ca, caKey)
	caFile := writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", ca.Raw)
	otherFile := writePEM(t, filepath.Join(dir, "other.pem"), "CERTIFICATE", other.Raw)
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte("right-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrongFile, []byte("wrong-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	plain := redistest.Start(t, redistest.Options{})
	// The documented per-store rule (docs/redis.md), for store s1 and for
	// another store: the agent of s1 logging in as s2's user is denied.
	plain.Do(t, aclRule("store-s1", "right-password", "s1")...)
	plain.Do(t, aclRule("store-s2", "right-password", "s2")...)
	tlsSrv := redistest.Start(t, redistest.Options{TLSCert: certFile, TLSKey: keyFile, TLSCA: caFile})

	for _, tc := range []struct {
		name   string
		url    string
		user   string
		pw     string
		ca     string
		reason string
	}{
		{"right ACL user", "redis://" + plain.Addr, "store-s1", pwFile, "", ""},
		{"wrong password", "redis://" + plain.Addr, "store-s1", wrongFile, "", redisfeed.ReasonAuth},
		{"another store's user", "redis://" + plain.Addr, "store-s2", pwFile, "", redisfeed.ReasonACL},
		{"TLS with the right CA", "rediss://" + tlsSrv.Addr, "", "", caFile, ""},
		{"TLS with a wrong CA", "rediss://" + tlsSrv.Addr, "", "", otherFile, redisfeed.ReasonTLS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, "", "1")
			cfg.Redis = agent.RedisConfig{URL: tc.url, Username: tc.user, PasswordFile: tc.pw, CAFile: tc.ca, Prefix: prefix, Store: testStore, Registers: []string{"1"},
				Scans: true, Publish: true} // the ACL rule must allow every part
			a := startAgent(t, cfg)
			if tc.reason == "" {
				waitState(t, a.Feed(), redisfeed.StateUp)
				for s, ch := a.Feed().Watch(); !s.Subscribed || s.Presence.IsZero(); s, ch = a.Feed().Watch() {
					select {
					case <-ch:
					case <-time.After(wait):
						t.Fatalf("status %+v: want subscribed and presence written", s)
					}
				}
				if h := healthz(t, a); h["status"] != "ok" {
					t.Errorf("healthz: got %v, want ok", h)
				}
				return
			}
			s := waitState(t, a.Feed(), redisfeed.StateDegraded)
			if s.Reason != tc.reason {
				t.Fatalf("reason: got %q (%s), want %q", s.Reason, s.Error, tc.reason)
			}
			h := healthz(t, a)
			link, _ := h["redis"].(map[string]any)
			if h["status"] != "degraded" || link["reason"] != tc.reason || link["error"] == "" {
				t.Errorf("healthz: got %v, want degraded with reason %s and the error", h, tc.reason)
			}
			t.Logf("error shown: %s", link["error"])
		})
	}
}

// aclRule is the ACL rule of docs/redis.md for an agent of store.
func aclRule(user, password, store string) []any {
	keys := "~" + prefix + ":{" + store + "}:*"
	return []any{"ACL", "SETUSER", user, "reset", "on", ">" + password, keys, "&" + prefix + ":{" + store + "}:*",
		"+ping", "+exists", "+xinfo|stream", "+xrevrange", "+xread", "+xadd", "+xgroup|create", "+xack", "+xdel",
		"+set", "+del", "+subscribe"}
}

func newCA(t testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func serverCert(t testing.TB, dir string, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (certFile, keyFile string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "redis"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, filepath.Join(dir, "server.pem"), "CERTIFICATE", der), writePEM(t, filepath.Join(dir, "server.key"), "EC PRIVATE KEY", kder)
}

func writePEM(t testing.TB, path, kind string, der []byte) string {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
