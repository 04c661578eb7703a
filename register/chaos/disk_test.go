package chaos

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestDiskFull puts the state directory on a small tmpfs, fills it, and
// checks that /healthz says degraded within 1 s of the first failed save,
// and that once space is freed the last acked cart is on disk within 1 s.
func TestDiskFull(t *testing.T) {
	needRoot(t, "mounting a tmpfs")
	rounds := 3
	if *long {
		rounds = 20
	}
	const tag = "d"
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount tmpfs: %v %s", err, out)
		}
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	cfg := newAgentConfig(t)
	cfg.stateDir = dir
	a := startAgent(t, cfg)
	ctx := context.Background()

	var degraded, recovered []time.Duration
	n := 0
	for round := range rounds {
		n++
		if err := postCart(a, cartN(tag, n)); err != nil {
			t.Fatal(err)
		}
		fill := filepath.Join(dir, "fill")
		if err := fillUp(fill); err != nil {
			t.Fatal(err)
		}
		n++
		first := time.Now()
		if err := postCart(a, cartN(tag, n)); err != nil { // acked: the cart is live
			t.Fatalf("round %d: POST on a full disk: %v", round, err)
		}
		_, ok := poll(ctx, 5*time.Second, func() bool { h, err := a.health(); return err == nil && h.Status == "degraded" })
		if !ok {
			t.Fatalf("round %d: /healthz not degraded within 5 s of a failed save", round)
		}
		degraded = append(degraded, time.Since(first)) // from the POST whose save failed
		for range 5 {
			n++
			if err := postCart(a, cartN(tag, n)); err != nil {
				t.Fatal(err)
			}
		}
		if failed, _ := a.metric(`posdisplay_cart_saves_total{outcome="failed"}`); failed < 1 {
			t.Errorf("round %d: failed saves metric: got %v", round, failed)
		}
		if err := os.Remove(fill); err != nil {
			t.Fatal(err)
		}
		repaired := time.Now()
		if _, ok := poll(ctx, 10*time.Second, func() bool {
			c, err := stateCart(dir)
			i, _ := orderIndex(c.Order, tag)
			h, herr := a.health()
			return err == nil && i == n && herr == nil && h.Status == "ok"
		}); !ok {
			t.Fatalf("round %d: cart %d not on disk and healthy within 10 s of the repair", round, n)
		}
		recovered = append(recovered, time.Since(repaired))
	}
	for _, d := range degraded {
		if d > time.Second {
			t.Errorf("degraded %v after the first failed save, want <= 1 s", d)
		}
	}
	for _, d := range recovered {
		if d > time.Second {
			t.Errorf("last acked cart on disk %v after the repair, want <= 1 s", d)
		}
	}
	t.Logf("disk full ×%d: failed save → /healthz degraded: %s", rounds, percentiles(degraded))
	t.Logf("space freed → last acked cart on disk, healthz ok: %s", percentiles(recovered))
}

// fillUp writes zeros to path until the file system is full.
func fillUp(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return nil
			}
			return err
		}
	}
}
