package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// One root run on the service's state dir broke the service while
// selfcheck said ok (issue 21 item 7). Now selfcheck fails on a foreign
// owner, and root refuses to serve on a directory that is not root's.
func TestStateOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create files owned by another user")
	}
	const service = 4242 // stands in for the posdisplay user
	dir := t.TempDir()
	if err := os.Chown(dir, service, service); err != nil {
		t.Fatal(err)
	}
	if err := refuseRootOnServiceState(dir, 0); !errors.Is(err, ErrStateOwner) {
		t.Errorf("root on a uid %d state dir: got %v, want ErrStateOwner", service, err)
	}
	if err := refuseRootOnServiceState(dir, service); err != nil {
		t.Errorf("the service user itself: %v", err)
	}
	if err := refuseRootOnServiceState(filepath.Join(dir, "missing"), 0); err != nil {
		t.Errorf("root on a fresh dir: %v", err)
	}

	// selfcheck as root over a state dir with a file of another owner.
	state := t.TempDir()
	tlsDir := filepath.Join(state, "tls")
	if err := os.Mkdir(tlsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tlsDir, service, service); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	args := []string{"selfcheck", "-config", filepath.Join(state, "none.toml"), "-state-dir", state}
	if err := os.WriteFile(args[2], nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), args, &out, &out); !errors.Is(err, ErrStateOwner) {
		t.Fatalf("selfcheck with a uid %d tls/ as root: got %v (output %q), want ErrStateOwner", service, err, out.String())
	}
	if err := os.Chown(tlsDir, 0, 0); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), args, &out, &out); err != nil {
		t.Fatalf("selfcheck with everything root's, as root: %v (output %q)", err, out.String())
	}
}
