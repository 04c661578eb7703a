package store

import (
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/metrics"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// flakyDisk stands in for atomicfile.Write: it fails with err while set and
// keeps the last content written per path.
type flakyDisk struct {
	mu    sync.Mutex
	err   error
	files map[string][]byte
	tries int
}

func (d *flakyDisk) write(path string, data []byte, _ fs.FileMode) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tries++
	if d.err != nil {
		return d.err
	}
	d.files[path] = append([]byte(nil), data...)
	return nil
}

func (d *flakyDisk) set(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.err = err
}

func (d *flakyDisk) content(path string) (string, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return string(d.files[path]), d.tries
}

// A failed write is reported to the saver, shown by Health and the metrics,
// and retried with backoff until it succeeds; the newest cart is what lands,
// even when an older one is saved after it.
func TestFailedWriteRetriedNewestWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := metrics.New()
		s, err := Open(t.TempDir(), slog.New(slog.DiscardHandler), m)
		if err != nil {
			t.Fatal(err)
		}
		disk := &flakyDisk{files: map[string][]byte{}}
		s.writeFile = disk.write
		errFull := errors.New("no space left on device")
		disk.set(errFull)

		c10, c30 := sample("1"), sample("1")
		c10.Order, c30.Order = "change-10", "change-30"
		if err := <-s.Save(c10, 10); !errors.Is(err, errFull) {
			t.Fatalf("save on a full disk: got %v, want %v", err, errFull)
		}
		if err := s.Health(); !errors.Is(err, errFull) {
			t.Fatalf("health while failing: got %v, want %v", err, errFull)
		}
		if err := <-s.Save(c30, 30); !errors.Is(err, errFull) {
			t.Fatalf("second save: got %v", err)
		}
		s.Save(c10, 10) // late, older: must not replace change 30
		synctest.Wait()
		if got := testutil.ToFloat64(m.SavesPending); got != 1 {
			t.Errorf("pending saves while failing: got %v, want 1", got)
		}
		if got := testutil.ToFloat64(m.Saves.WithLabelValues("failed")); got < 2 {
			t.Errorf("failed saves: got %v, want >= 2", got)
		}
		// Retries back off: a second of failure costs a handful of tries.
		_, before := disk.content("")
		time.Sleep(time.Second)
		synctest.Wait()
		if _, after := disk.content(""); after-before > 6 || after-before < 2 {
			t.Errorf("tries in 1 s of failure: got %d, want 2..6 (backoff %v..%v)", after-before, RetryMin, RetryMax)
		}

		disk.set(nil) // repaired
		time.Sleep(RetryMax)
		synctest.Wait()
		got, _ := disk.content(filepath.Join(s.dir, "1.json"))
		var on cart.Cart
		if err := json.Unmarshal([]byte(got), &on); err != nil || on.Order != "change-30" {
			t.Fatalf("on disk %v after repair: got %q (%v), want change-30", RetryMax, got, err)
		}
		if err := s.Health(); err != nil {
			t.Errorf("health after repair: got %v, want nil", err)
		}
		if got := testutil.ToFloat64(m.SavesPending); got != 0 {
			t.Errorf("pending saves after repair: got %v, want 0", got)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// Close makes one last attempt and reports a write it could not make.
func TestCloseReportsUnwrittenCart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := Open(t.TempDir(), slog.New(slog.DiscardHandler), nil)
		if err != nil {
			t.Fatal(err)
		}
		disk := &flakyDisk{files: map[string][]byte{}, err: errors.New("read-only file system")}
		s.writeFile = disk.write
		<-s.Save(sample("1"), 1)
		if err := s.Close(); err == nil {
			t.Fatal("Close: got nil, want the failing write")
		}
	})
}

// A state path that is not a regular file, or a file above the limit, is
// refused with a typed error; the big file is not read.
func TestLoadRefusesNonRegularAndHuge(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := os.Mkdir(filepath.Join(dir, "carts", "d.json"), 0o750); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("d"); !errors.Is(err, ErrNotRegular) {
		t.Errorf("directory: got %v, want ErrNotRegular", err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "carts", "z.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("z"); !errors.Is(err, ErrNotRegular) {
		t.Errorf("symlink to a device: got %v, want ErrNotRegular", err)
	}
	// A sparse 64 MiB file: reading it whole would show in the test's
	// memory; refusing it by size costs nothing.
	f, err := os.Create(filepath.Join(dir, "carts", "big.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := s.Load("big"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("64 MiB file: got %v, want ErrTooLarge", err)
	}
	// Saving over a directory fails and says so in Health.
	if err := <-s.Save(sample("d"), 1); err == nil {
		t.Error("save over a directory: got nil error")
	}
	if err := s.Health(); err == nil {
		t.Error("health after a save over a directory: got nil")
	}
}
