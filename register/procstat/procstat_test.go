package procstat

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/procfs"
)

// fakeProc writes a /proc tree holding process 4242 and returns its root.
func fakeProc(t *testing.T, stat, status string) procfs.FS {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "4242")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"stat": stat, "status": status} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := procfs.NewFS(root)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestRead(t *testing.T) {
	// A command name with a space and a ')' of its own.
	stat := "4242 (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 9 0 123 456 789 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
	status := "Name:\todd) name\nVmPeak:\t  9000 kB\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t9\n"
	got, err := read(fakeProc(t, stat, status), 4242)
	if err != nil {
		t.Fatal(err)
	}
	want := Usage{CPU: 2870 * time.Millisecond, RSS: 1024 << 10, PeakRSS: 2048 << 10}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, bad := range []struct{ stat, status string }{
		{"4242 odd S 1", status},                 // no ')'
		{"4242 (odd) S 1 2 3", status},           // too short
		{stat, "VmRSS:\t 12 kB\n"},               // no VmHWM
		{stat, "VmHWM:\t x kB\nVmRSS:\t 1 kB\n"}, // not a number
	} {
		if _, err := read(fakeProc(t, bad.stat, bad.status), 4242); err == nil {
			t.Errorf("read(%q, %q): want an error", bad.stat, bad.status)
		}
	}
}

func TestReadSelf(t *testing.T) {
	u, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.RSS <= 0 || u.PeakRSS < u.RSS || u.CPU < 0 {
		t.Errorf("own usage %+v: want RSS > 0, peak >= RSS, CPU >= 0", u)
	}
}
