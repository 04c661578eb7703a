// Package procstat reads a process's CPU time and memory from /proc, for
// benchmarks that measure another process (the agent under load, the screen
// in a real window). The parsing is github.com/prometheus/procfs's; this
// package picks the three numbers the benchmarks report. Linux only.
package procstat

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/procfs"
)

// Usage is what /proc says about a process at one moment.
type Usage struct {
	CPU     time.Duration // user + system time since it started
	RSS     int64         // resident memory now, bytes (VmRSS)
	PeakRSS int64         // highest resident memory so far, bytes (VmHWM)
}

// Read returns pid's usage.
func Read(pid int) (Usage, error) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return Usage{}, fmt.Errorf("procstat: %w", err)
	}
	return read(fs, pid)
}

func read(fs procfs.FS, pid int) (Usage, error) {
	p, err := fs.Proc(pid)
	if err != nil {
		return Usage{}, fmt.Errorf("procstat: %w", err)
	}
	stat, err := p.Stat()
	if err != nil {
		return Usage{}, fmt.Errorf("procstat: %w", err)
	}
	status, err := p.NewStatus()
	if err != nil {
		return Usage{}, fmt.Errorf("procstat: %w", err)
	}
	if status.VmRSS == 0 || status.VmHWM == 0 {
		return Usage{}, errors.New("procstat: /proc/PID/status has no VmRSS or VmHWM")
	}
	return Usage{
		// CPUTime is seconds (ticks / USER_HZ); rounding to the microsecond
		// drops float error, ticks are 10 ms.
		CPU:     time.Duration(stat.CPUTime() * float64(time.Second)).Round(time.Microsecond),
		RSS:     int64(status.VmRSS),
		PeakRSS: int64(status.VmHWM),
	}, nil
}
