package store

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/posdisplay/posdisplay/register/cart"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func sample(register string) cart.Cart {
	c := cart.Empty(register, "EUR")
	c.State = cart.StateOpen
	c.Lines = []cart.Line{{ID: "a", Title: "Brötchen", Quantity: 3000, UnitPrice: 45, Total: 135}}
	c.Subtotal, c.Total = 135, 135
	return c
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("1"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("load before save: got %v, want ErrNotExist", err)
	}
	old := cart.Empty("1", "EUR")
	s.Save(old, 1)
	want := sample("1")
	if err := <-s.Save(want, 2); err != nil { // coalesced with the first save, or written after it
		t.Fatalf("durable save: %v", err)
	}
	if got, err := s.Load("1"); err != nil || !cart.Equal(got, want) {
		t.Fatalf("after the save's outcome: got %+v, %v; want %+v on disk", got, err, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if err := <-s.Save(sample("1"), 3); !errors.Is(err, ErrClosed) { // after Close: ignored, no panic
		t.Fatalf("save after close: got %v, want ErrClosed", err)
	}

	s2, err := Open(dir, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.Load("1")
	if err != nil {
		t.Fatal(err)
	}
	if !cart.Equal(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(filepath.Join(dir, "carts"))
	if len(entries) != 1 || entries[0].Name() != "1.json" {
		t.Fatalf("state dir holds %v, want only 1.json", entries)
	}
}

func TestLoadRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, "carts", name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("torn.json", `{"register":"torn","curr`)
	write("invalid.json", `{"register":"invalid","currency":"EUR","state":"open","lines":[],"subtotal":5,"discount":0,"taxes":[],"total":5}`)
	write("other.json", `{"register":"x","currency":"EUR","state":"idle","lines":[],"subtotal":0,"discount":0,"taxes":[],"total":0}`)
	for _, reg := range []string{"torn", "invalid", "other", "../etc/passwd"} {
		if _, err := s.Load(reg); err == nil {
			t.Errorf("Load(%q): got nil error", reg)
		}
	}
}
