package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posdisplay/posdisplay/register/storecert"
	"github.com/posdisplay/posdisplay/register/storecert/storecerttest"
)

// TestSelfcheckStoreCert: selfcheck reads display.cert_file as the agent
// will, says what it will serve to browsers, and fails on a pair that
// cannot serve.
func TestSelfcheckStoreCert(t *testing.T) {
	ca := storecerttest.NewCA(t, "Test Store CA")
	state := t.TempDir()
	certFile, keyFile := filepath.Join(state, "display.crt"), filepath.Join(state, "display.key")
	cert, key := ca.Issue(t, "lane1", "lane1.store.test", "192.168.12.21")
	storecerttest.Replace(t, certFile, cert)
	storecerttest.Replace(t, keyFile, key)
	conf := filepath.Join(state, "agent.toml")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "[display]\ntls = true\ncert_file = %q\nkey_file = %q\n", certFile, keyFile), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"selfcheck", "-config", conf, "-state-dir", state}
	var out bytes.Buffer
	if err := run(context.Background(), args, &out, &out); err != nil {
		t.Fatalf("selfcheck: %v (output %q)", err, out.String())
	}
	if want := "store certificate for browsers: CN=lane1, issued by CN=Test Store CA,O=posdisplay test store, for lane1.store.test 192.168.12.21, expires "; !strings.Contains(out.String(), want) {
		t.Errorf("selfcheck said %q, want a line starting %q", out.String(), want)
	}

	_, otherKey := ca.Issue(t, "other", "lane1.store.test")
	storecerttest.Replace(t, keyFile, otherKey)
	out.Reset()
	if err := run(context.Background(), args, &out, &out); !errors.Is(err, storecert.ErrUnusable) {
		t.Errorf("selfcheck with the key of another certificate: got %v (output %q), want storecert.ErrUnusable", err, out.String())
	}
}
