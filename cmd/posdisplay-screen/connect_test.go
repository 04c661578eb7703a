package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/display/client/clienttest"
	"github.com/posdisplay/posdisplay/display/enroll"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/testlog"
	"github.com/posdisplay/posdisplay/register/tlsid"
)

// pairedState writes a pairing made at pairedAddr and a last good address
// into a new state directory.
func pairedState(t *testing.T, fingerprint, pairedAddr, lastGood string) string {
	t.Helper()
	dir := t.TempDir()
	creds := enroll.Credentials{AgentID: "agent-a", Register: "till-1", DisplayID: "d1", Token: "0123456789abcdef0123",
		Fingerprint: fingerprint, Addr: pairedAddr, PairedAt: time.Now().UTC().Truncate(time.Second)}
	if err := enroll.Save(filepath.Join(dir, pairingFile), creds); err != nil {
		t.Fatal(err)
	}
	if lastGood != "" {
		if err := os.WriteFile(filepath.Join(dir, lastAddrFile), []byte(lastGood+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func screenOptions(stateDir string) options {
	o := options{cfg: defaultFileConfig()}
	o.cfg.Connection.StateDir = stateDir
	o.cfg.Connection.Discovery = false // no multicast from tests
	return o
}

// startConnector runs a connector until the test ends and returns the
// views it shows.
func startConnector(t *testing.T, o options) <-chan client.View {
	t.Helper()
	views := make(chan client.View, 64)
	c, err := newConnector(o, testlog.New(t, slog.LevelInfo), func(v client.View) {
		select {
		case views <- v:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("connector: %v", err)
		}
	})
	return views
}

// A register moved after pairing; the screen followed it and then
// restarted where mDNS does not reach it. It must dial where the register
// was last reached, not where pairing happened, and keep that address.
func TestRestartedScreenDialsLastGoodAddress(t *testing.T) {
	listen := func() (net.Listener, chan string) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		accepted := make(chan string, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
			accepted <- ln.Addr().String()
		}()
		return ln, accepted
	}
	old, oldAcc := listen()
	moved, movedAcc := listen()
	fp := "ab" + string(bytes.Repeat([]byte("0"), 62))
	dir := pairedState(t, fp, old.Addr().String(), moved.Addr().String())
	startConnector(t, screenOptions(dir))

	select {
	case <-movedAcc:
	case <-oldAcc:
		t.Fatalf("dialled the pairing-time address %s first, want the last good %s", old.Addr(), moved.Addr())
	case <-time.After(10 * time.Second):
		t.Fatal("no dial within 10 s")
	}
	got, err := os.ReadFile(filepath.Join(dir, lastAddrFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(bytes.TrimSpace(got)) != moved.Addr().String() {
		t.Errorf("last-addr = %q, want %q", got, moved.Addr())
	}
}

// A revoked screen goes back to pairing by itself: it forgets the token
// and shows the pairing screen instead of "not accepted" for ever.
func TestRevokedScreenPairsAgain(t *testing.T) {
	id, err := tlsid.LoadOrCreate(t.TempDir(), tlsid.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := clienttest.NewTLSServerWith(t, id.ServerConfig())
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	dir := pairedState(t, id.Fingerprint, u.Host, "")
	views := startConnector(t, screenOptions(dir))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Reject(protocol.CodeUnauthorized, "display token revoked"); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case v := <-views:
			if v.Status != client.StatusPairing {
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, pairingFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("pairing.json after revoke: stat err = %v, want not exist", err)
			}
			return
		case <-ctx.Done():
			t.Fatal("the revoked screen did not return to pairing within 10 s")
		}
	}
}

// unpair works over SSH: no display, no window, just the state files.
func TestUnpairWithoutDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	for _, args := range [][]string{{"unpair"}, {"-unpair"}} {
		t.Run(args[0], func(t *testing.T) {
			fp := "cd" + string(bytes.Repeat([]byte("1"), 62))
			dir := pairedState(t, fp, "10.250.0.1:7422", "10.250.0.9:7522")
			var out bytes.Buffer
			args := append(args, "-config", filepath.Join(dir, "none.toml"), "-state-dir", dir)
			if err := os.WriteFile(args[len(args)-3], nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := run(context.Background(), args, &out); err != nil {
				t.Fatalf("run %q: %v", args, err)
			}
			for _, name := range []string{pairingFile, lastAddrFile} {
				if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s after unpair: stat err = %v, want not exist", name, err)
				}
			}
			if !bytes.Contains(out.Bytes(), []byte("pairing forgotten")) {
				t.Errorf("output %q, want it to say the pairing was forgotten", out.String())
			}
		})
	}
}
