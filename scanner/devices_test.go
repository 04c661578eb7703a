package scanner

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.bug.st/serial/enumerator"
)

func TestParseInputDevices(t *testing.T) {
	f, err := os.Open("testdata/proc_input_devices.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	devs, err := parseInputDevices(f)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(devs), 6; got != want {
		t.Fatalf("got %d devices, want %d", got, want)
	}
	sym := devs[2]
	if sym.Name != "Symbol Technologies, Inc, 2008 Symbol Bar Code Scanner" || sym.Event != "/dev/input/event7" ||
		sym.Vendor != "05e0" || sym.Bus != "0003" || !sym.Keyboard {
		t.Errorf("device 2 = %+v", sym)
	}
	if devs[3].Keyboard {
		t.Errorf("mouse marked as keyboard: %+v", devs[3])
	}
}

func TestResolveHIDPath(t *testing.T) {
	list := func() ([]InputDevice, error) { return readInputDevices("testdata/proc_input_devices.txt") }
	tests := []struct {
		h    HIDConfig
		want string
		err  error
	}{
		{h: HIDConfig{NameMatch: "bar code"}, want: "/dev/input/event7"},
		{h: HIDConfig{NameMatch: "HONEYWELL"}, want: "/dev/input/event9"},
		{h: HIDConfig{NameMatch: "nothing like it"}, err: ErrDeviceNotFound},
		{h: HIDConfig{Path: "/dev/input/event3"}, want: "/dev/input/event3"},
		{h: HIDConfig{ByID: "usb-x-event-kbd"}, want: "/dev/input/by-id/usb-x-event-kbd"},
	}
	for _, tt := range tests {
		got, err := resolveHIDPath(tt.h, list)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("resolveHIDPath(%+v) = %q, %v, want %q, %v", tt.h, got, err, tt.want, tt.err)
		}
	}
	// The keyboard interface wins over a consumer-control sibling listed
	// first.
	got, err := resolveHIDPath(HIDConfig{NameMatch: "1950g"}, func() ([]InputDevice, error) {
		devs, err := list()
		slices.Reverse(devs)
		return devs, err
	})
	if got != "/dev/input/event9" || err != nil {
		t.Errorf("resolveHIDPath(1950g) = %q, %v, want /dev/input/event9", got, err)
	}
	_, err = resolveHIDPath(HIDConfig{NameMatch: "x"}, func() ([]InputDevice, error) {
		return readInputDevices("/nonexistent/devices")
	})
	if !errors.Is(err, ErrDeviceNotFound) {
		t.Errorf("missing /proc list: err = %v, want ErrDeviceNotFound", err)
	}
}

func TestResolveSerialPath(t *testing.T) {
	ports := []*enumerator.PortDetails{
		{Name: "/dev/ttyS0"},
		{Name: "/dev/ttyACM0", IsUSB: true, VID: "05E0", PID: "1900", SerialNumber: "A1"},
		{Name: "/dev/ttyACM1", IsUSB: true, VID: "05E0", PID: "1900", SerialNumber: "B2"},
	}
	enum := func() ([]*enumerator.PortDetails, error) { return ports, nil }
	tests := []struct {
		s    SerialConfig
		want string
		err  error
	}{
		{s: SerialConfig{Path: "/dev/ttyUSB0"}, want: "/dev/ttyUSB0"},
		{s: SerialConfig{ByID: "usb-Zebra-if00"}, want: "/dev/serial/by-id/usb-Zebra-if00"},
		{s: SerialConfig{ByID: "/dev/serial/by-id/x"}, want: "/dev/serial/by-id/x"},
		{s: SerialConfig{USBVendor: "05e0", USBProduct: "1900"}, want: "/dev/ttyACM0"},
		{s: SerialConfig{USBVendor: "05e0", USBProduct: "1900", USBSerial: "B2"}, want: "/dev/ttyACM1"},
		{s: SerialConfig{USBVendor: "0c2e", USBProduct: "1900"}, err: ErrDeviceNotFound},
	}
	for _, tt := range tests {
		got, err := resolveSerialPath(tt.s, enum)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("resolveSerialPath(%+v) = %q, %v, want %q, %v", tt.s, got, err, tt.want, tt.err)
		}
	}
}

func TestListDevices(t *testing.T) {
	dir := t.TempDir()
	inByID := filepath.Join(dir, "input-by-id")
	os.Mkdir(inByID, 0o755)
	// A by-id link whose target exists, to check the reverse mapping.
	target := filepath.Join(dir, "event7")
	os.WriteFile(target, nil, 0o644)
	os.Symlink(target, filepath.Join(inByID, "usb-Symbol-event-kbd"))
	d := listDevices(devicePaths{
		serialByID: filepath.Join(dir, "no-serial-by-id"),
		inputByID:  inByID,
		procInput:  "testdata/proc_input_devices.txt",
		enumerate: func() ([]*enumerator.PortDetails, error) {
			return []*enumerator.PortDetails{{Name: "/dev/ttyACM0", IsUSB: true, VID: "05E0", PID: "1900", Product: "Zebra DS2208"}}, nil
		},
	})
	if len(d.Problems) != 0 {
		t.Errorf("problems = %q, want none", d.Problems)
	}
	if len(d.Serial) != 1 || d.Serial[0].VID != "05e0" {
		t.Errorf("serial = %+v", d.Serial)
	}
	// Keyboards only (mouse dropped), likely scanners first.
	var names []string
	for _, c := range d.Input {
		names = append(names, c.Name)
	}
	if len(d.Input) != 4 || !d.Input[0].LikelyScanner || !d.Input[1].LikelyScanner || d.Input[2].LikelyScanner {
		t.Errorf("input order = %q", names)
	}
	var buf bytes.Buffer
	if err := FormatDevices(&buf, d); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"/dev/ttyACM0", "05e0:1900", "/dev/input/event7", "likely", "Power Button"} {
		if !strings.Contains(out, want) {
			t.Errorf("FormatDevices output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("\n%s", out)

	// Nothing readable: still a result, with problems noted.
	d = listDevices(devicePaths{
		serialByID: filepath.Join(dir, "x"), inputByID: filepath.Join(dir, "y"), procInput: filepath.Join(dir, "z"),
		enumerate: func() ([]*enumerator.PortDetails, error) { return nil, errors.New("boom") },
	})
	if len(d.Problems) != 2 {
		t.Errorf("problems = %q, want 2", d.Problems)
	}
}

// TestListDevicesHere runs the real listing on this machine: whatever it
// finds, it must not fail or panic, and must format.
func TestListDevicesHere(t *testing.T) {
	d := ListDevices()
	var buf bytes.Buffer
	if err := FormatDevices(&buf, d); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", buf.String())
}
