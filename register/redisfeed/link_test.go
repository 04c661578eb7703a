package redisfeed_test

import (
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
	ca := redistest.NewCA(t, "posdisplay test CA")
	certFile, keyFile := ca.ServerCert(t, dir)
	caFile := ca.WriteCert(t, dir, "ca.pem")
	otherFile := redistest.NewCA(t, "someone else's CA").WriteCert(t, dir, "other.pem")
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
