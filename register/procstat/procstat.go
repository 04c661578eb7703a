// Package procstat reads a process's CPU time and memory from /proc, for
// benchmarks that measure another process (the agent under load, the screen
// in a real window). Linux only.
package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100
// on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// Usage is what /proc says about a process at one moment.
type Usage struct {
	CPU     time.Duration // user + system time since it started
	RSS     int64         // resident memory now, bytes (VmRSS)
	PeakRSS int64         // highest resident memory so far, bytes (VmHWM)
}

// Read returns pid's usage.
func Read(pid int) (Usage, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Usage{}, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Usage{}, err
	}
	return parse(stat, status)
}

func parse(stat, status []byte) (Usage, error) {
	var u Usage
	// The command name (field 2) is in parentheses and may hold spaces and
	// parentheses: fields count from the last ')'. utime and stime are
	// fields 14 and 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return u, errors.New("procstat: malformed /proc/PID/stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return u, errors.New("procstat: short /proc/PID/stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return u, fmt.Errorf("procstat: /proc/PID/stat: %w", err)
	}
	u.CPU = time.Duration(ut+st) * clockTick
	for _, l := range strings.Split(string(status), "\n") {
		var dst *int64
		key, v, ok := strings.Cut(l, ":")
		switch {
		case !ok:
			continue
		case key == "VmRSS":
			dst = &u.RSS
		case key == "VmHWM":
			dst = &u.PeakRSS
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return u, fmt.Errorf("procstat: %s: %w", key, err)
		}
		*dst = kb << 10
	}
	if u.RSS == 0 || u.PeakRSS == 0 {
		return u, errors.New("procstat: /proc/PID/status has no VmRSS or VmHWM")
	}
	return u, nil
}
