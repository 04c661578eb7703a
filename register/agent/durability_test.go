package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/store"
)

// A register's state path held by something that is not a regular file
// stops the agent at start: it could never save that register's cart.
func TestStatePathNotRegularFailsStart(t *testing.T) {
	cfg := testConfig(t)
	if err := os.MkdirAll(filepath.Join(cfg.State.Dir, "carts", "1.json"), 0o750); err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, testLogger(t), Options{})
	if !errors.Is(err, store.ErrNotRegular) {
		if a != nil {
			a.shutdown()
		}
		t.Fatalf("New: got %v, want ErrNotRegular", err)
	}
}

type health struct {
	Status string
	Reason string
}

func getHealth(t *testing.T, r *running) health {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://%s/healthz", r.POSAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// While a cart cannot be saved, the POS still gets its ack (the cart is
// live), /healthz says degraded with the reason, and the metric counts the
// failure; once the path is writable again the newest acked cart lands and
// health is ok.
func TestHealthDegradedWhileSavesFail(t *testing.T) {
	cfg := testConfig(t)
	r := start(t, cfg)
	path := filepath.Join(cfg.State.Dir, "carts", "1.json")
	if err := os.MkdirAll(path, 0o750); err != nil { // a save can never replace a directory
		t.Fatal(err)
	}
	pos := dialPOS(t, r, "1")
	want := basket("1", 3)
	sendCart(t, pos, "a", basket("1", 2))
	sendCart(t, pos, "b", want)
	// The ack of "b" came after its first write failed: degraded already.
	if h := getHealth(t, r); h.Status != "degraded" || !strings.Contains(h.Reason, "register 1") {
		t.Fatalf("healthz while saves fail: got %+v, want degraded naming register 1", h)
	}
	if got := counterValue(t, r, `posdisplay_cart_saves_total{outcome="failed"}`); got < 2 {
		t.Errorf("failed saves: got %v, want >= 2", got)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { // the newest acked cart lands after the repair
		c, err := r.store.Load("1")
		return err == nil && cart.Equal(c, want) && getHealth(t, r).Status == "ok"
	})
}
