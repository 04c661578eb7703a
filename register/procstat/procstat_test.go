package procstat

import (
	"os"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	// A command name with a space and a ')' of its own.
	stat := []byte("4242 (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 9 0 123 456 789")
	status := []byte("Name:\todd) name\nVmPeak:\t  9000 kB\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t9\n")
	got, err := parse(stat, status)
	if err != nil {
		t.Fatal(err)
	}
	want := Usage{CPU: 2870 * time.Millisecond, RSS: 1024 << 10, PeakRSS: 2048 << 10}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, bad := range []struct{ stat, status string }{
		{"4242 odd S 1", string(status)},                 // no ')'
		{"4242 (odd) S 1 2 3", string(status)},           // too short
		{string(stat), "VmRSS:\t 12 kB\n"},               // no VmHWM
		{string(stat), "VmHWM:\t x kB\nVmRSS:\t 1 kB\n"}, // not a number
	} {
		if _, err := parse([]byte(bad.stat), []byte(bad.status)); err == nil {
			t.Errorf("parse(%q, %q): want an error", bad.stat, bad.status)
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
