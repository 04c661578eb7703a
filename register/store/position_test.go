package store

import (
	"encoding/json"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"

	"github.com/posdisplay/posdisplay/register/atomicfile"
	"github.com/posdisplay/posdisplay/register/cart"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A file written before positions existed is the bare cart: it loads, with
// no position, and the next write keeps its layout plus "feed".
func TestPositionOldFileLoads(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	old, err := json.Marshal(sample("1")) // the layout of every earlier agent
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "carts", "1.json"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load("1")
	if err != nil || !cart.Equal(got, sample("1")) {
		t.Fatalf("old file: got %+v, %v; want %+v", got, err, sample("1"))
	}
	if p, ok := s.Position("1"); ok {
		t.Fatalf("old file: got position %+v, want none", p)
	}
	// Advance rewrites the loaded cart with the position.
	want := Position{Stream: "p:{s}:1:pos", LastID: "5-0"}
	if err := <-s.Advance("1", want); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, dir)
	got, err = s2.Load("1")
	if p, ok := s2.Position("1"); err != nil || !cart.Equal(got, sample("1")) || !ok || p != want {
		t.Fatalf("after Advance: got %+v, %+v %v, %v; want the cart and %+v", got, p, ok, err, want)
	}
	// An older agent reads the cart members and ignores "feed".
	data, err := os.ReadFile(filepath.Join(dir, "carts", "1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var plain cart.Cart
	if err := json.Unmarshal(data, &plain); err != nil || !cart.Equal(plain, sample("1")) {
		t.Fatalf("new file read as a bare cart: got %+v, %v", plain, err)
	}
}

// Saves without a position (a POS page's carts) keep the register's
// position: it is carried into every later write.
func TestPositionCarriedBySave(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	want := Position{Stream: "k", LastID: "7-1"}
	if err := <-s.Save(cart.Empty("1", "EUR"), 1); err != nil {
		t.Fatal(err)
	}
	if err := <-s.Advance("1", want); err != nil {
		t.Fatal(err)
	}
	if err := <-s.Save(sample("1"), 2); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, dir)
	got, err := s2.Load("1")
	if p, ok := s2.Position("1"); err != nil || !cart.Equal(got, sample("1")) || p != want || !ok {
		t.Fatalf("got %+v, %+v %v, %v; want the page's cart with %+v", got, p, ok, err, want)
	}
}

// A register whose cart the store has never seen has nothing to write.
func TestPositionUnknownRegister(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := <-s.Advance("9", Position{Stream: "k", LastID: "1-0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "carts", "9.json")); !os.IsNotExist(err) {
		t.Fatalf("stat: got %v, want no file", err)
	}
	if p, ok := s.Position("9"); !ok || p.LastID != "1-0" {
		t.Fatalf("got %+v %v, want the position kept for the first write", p, ok)
	}
}

// recordWrites makes s record every record it writes (read them once the
// writes are done: only the writer goroutine appends); after the n-th,
// then(n) runs in the writer before the file is written (nil: nothing).
func recordWrites(t *testing.T, s *Store, then func(n int)) *[]record {
	t.Helper()
	var writes []record
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeFile = func(path string, data []byte, perm fs.FileMode) error {
		var r record
		if err := json.Unmarshal(data, &r); err != nil {
			t.Error(err)
		}
		writes = append(writes, r)
		if then != nil {
			then(len(writes))
		}
		return atomicfile.Write(path, data, perm)
	}
	return &writes
}

// A position recorded while a write is under way never joins that write's
// (older) cart: it goes with the next write, which holds the newer cart.
func TestPositionNeverWithOlderCart(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	entered, release := make(chan struct{}), make(chan struct{})
	writes := recordWrites(t, s, func(n int) {
		if n == 1 {
			close(entered)
			<-release
		}
	})
	first := s.Save(cart.Empty("1", "EUR"), 1)
	<-entered // the first write has its cart, without a position
	newer := sample("1")
	s.Save(newer, 2)
	done := s.Advance("1", Position{Stream: "k", LastID: "2-0"})
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(*writes) != 2 {
		t.Fatalf("got %d writes, want 2", len(*writes))
	}
	if (*writes)[0].Feed != nil {
		t.Errorf("first write: got position %+v with the older cart, want none", *(*writes)[0].Feed)
	}
	if w := (*writes)[1]; w.Feed == nil || w.Feed.LastID != "2-0" || !cart.Equal(w.Cart, newer) {
		t.Errorf("second write: got %+v, want the newer cart with position 2-0", w)
	}
}

// The cart a feed entry produces is never written before the entry's
// position: while the entry is held, the writer leaves the cart queued
// (a write then would pair the new cart with the previous entry's id, and
// a crash would apply that entry twice); Advance releases one write of both.
// Once the store closes, a held cart is written all the same.
func TestPositionHeldCartWaitsForItsEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir)
		writes := recordWrites(t, s, nil)
		if err := <-s.Save(cart.Empty("1", "EUR"), 1); err != nil {
			t.Fatal(err)
		}
		if err := <-s.Advance("1", Position{Stream: "k", LastID: "1-0"}); err != nil {
			t.Fatal(err)
		}
		s.Hold("1")
		saved := s.Save(sample("1"), 2) // the cart entry 2-0 produced
		synctest.Wait()                 // the writer has run and is idle
		select {
		case err := <-saved:
			t.Fatalf("held cart written (%v) before its entry's position: writes %+v", err, *writes)
		default:
		}
		done := s.Advance("1", Position{Stream: "k", LastID: "2-0"})
		if err := <-saved; err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for i, w := range *writes {
			if cart.Equal(w.Cart, sample("1")) && (w.Feed == nil || w.Feed.LastID != "2-0") {
				t.Fatalf("write %d: the entry's cart with position %+v, want 2-0", i, w.Feed)
			}
		}
		if n := len(*writes); n != 3 {
			t.Errorf("got %d writes, want 3 (each cart once, then both together)", n)
		}

		s.Hold("1")
		last := s.Save(cart.Empty("1", "EUR"), 3)
		synctest.Wait()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-last; err != nil {
			t.Fatalf("held cart at Close: %v, want written", err)
		}
	})
}
