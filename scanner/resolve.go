package scanner

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"
)

// ErrDeviceNotFound is wrapped when the configured device is not present
// (yet); the scanner waits for it.
var ErrDeviceNotFound = errors.New("scanner device not found")

// Where Linux keeps device links and the input device list.
const (
	serialByIDDir = "/dev/serial/by-id"
	inputByIDDir  = "/dev/input/by-id"
	procInputList = "/proc/bus/input/devices"
)

// isNotFound reports whether err means "device absent" rather than a
// failure worth calling an error.
func isNotFound(err error) bool {
	if errors.Is(err, ErrDeviceNotFound) || errors.Is(err, fs.ErrNotExist) {
		return true
	}
	var pe *serial.PortError
	return errors.As(err, &pe) && pe.Code() == serial.PortNotFound
}

// byIDPath resolves a by-id name (or full path) under dir.
func byIDPath(dir, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(dir, name)
}

// resolveSerialPath finds the device node for s. enumerate lists USB serial
// ports (enumerator.GetDetailedPortsList in production).
func resolveSerialPath(s SerialConfig, enumerate func() ([]*enumerator.PortDetails, error)) (string, error) {
	switch {
	case s.Path != "":
		return s.Path, nil
	case s.ByID != "":
		return byIDPath(serialByIDDir, s.ByID), nil
	}
	ports, err := enumerate()
	if err != nil {
		return "", fmt.Errorf("enumerate serial ports: %w", err)
	}
	for _, p := range ports {
		if p.IsUSB && strings.EqualFold(p.VID, s.USBVendor) && strings.EqualFold(p.PID, s.USBProduct) &&
			(s.USBSerial == "" || p.SerialNumber == s.USBSerial) {
			return p.Name, nil
		}
	}
	return "", fmt.Errorf("no serial port with USB id %s:%s: %w", s.USBVendor, s.USBProduct, ErrDeviceNotFound)
}

// InputDevice is one entry of /proc/bus/input/devices.
type InputDevice struct {
	Name     string   `json:"name"`
	Phys     string   `json:"phys,omitempty"`
	Bus      string   `json:"bus,omitempty"`
	Vendor   string   `json:"vendor,omitempty"`
	Product  string   `json:"product,omitempty"`
	Handlers []string `json:"handlers,omitempty"`
	// Event is the evdev node, e.g. /dev/input/event3, or "".
	Event string `json:"event,omitempty"`
	// Keyboard is true when the device has the kbd handler and can type.
	Keyboard bool `json:"keyboard"`
}

// parseInputDevices parses the /proc/bus/input/devices format: blocks of
// "X: ..." lines separated by blank lines. Unknown lines are ignored.
func parseInputDevices(r io.Reader) ([]InputDevice, error) {
	var out []InputDevice
	var cur *InputDevice
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			cur = nil
			continue
		}
		if len(line) < 3 || line[1] != ':' {
			continue
		}
		if cur == nil {
			out = append(out, InputDevice{})
			cur = &out[len(out)-1]
		}
		val := strings.TrimSpace(line[2:])
		switch line[0] {
		case 'I':
			for _, f := range strings.Fields(val) {
				k, v, _ := strings.Cut(f, "=")
				switch k {
				case "Bus":
					cur.Bus = v
				case "Vendor":
					cur.Vendor = v
				case "Product":
					cur.Product = v
				}
			}
		case 'N':
			cur.Name = strings.Trim(strings.TrimPrefix(val, "Name="), `"`)
		case 'P':
			cur.Phys = strings.TrimPrefix(val, "Phys=")
		case 'H':
			cur.Handlers = strings.Fields(strings.TrimPrefix(val, "Handlers="))
			for _, h := range cur.Handlers {
				if strings.HasPrefix(h, "event") && !strings.ContainsAny(h, "/.") {
					cur.Event = "/dev/input/" + h
				}
				if h == "kbd" {
					cur.Keyboard = true
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("parse input device list: %w", err)
	}
	return out, nil
}

// readInputDevices reads and parses the kernel's input device list.
func readInputDevices(path string) ([]InputDevice, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read input devices: %w", err)
	}
	defer f.Close()
	return parseInputDevices(io.LimitReader(f, 1<<20))
}

// resolveHIDPath finds the evdev node for h.
func resolveHIDPath(h HIDConfig, list func() ([]InputDevice, error)) (string, error) {
	switch {
	case h.Path != "":
		return h.Path, nil
	case h.ByID != "":
		return byIDPath(inputByIDDir, h.ByID), nil
	}
	devs, err := list()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("input devices: %w", ErrDeviceNotFound)
		}
		return "", err
	}
	// A scanner often shows up as several input devices (keyboard,
	// consumer keys); the one with the keyboard handler types the data.
	want := strings.ToLower(h.NameMatch)
	for _, kbd := range []bool{true, false} {
		for _, d := range devs {
			if d.Event != "" && d.Keyboard == kbd && strings.Contains(strings.ToLower(d.Name), want) {
				return d.Event, nil
			}
		}
	}
	return "", fmt.Errorf("no input device named like %q: %w", h.NameMatch, ErrDeviceNotFound)
}
