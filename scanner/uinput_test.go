package scanner

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/holoplot/go-evdev"

	"github.com/posdisplay/posdisplay/register/testenv"
)

// TestUinputKeyboard drives the real evdev path: it creates a virtual
// keyboard with uinput, reads it through the default opener (name match,
// EVIOCGRAB, non-blocking reads), types scans into it, checks that the
// grab keeps other readers out, and unplugs it.
func TestUinputKeyboard(t *testing.T) {
	if _, err := os.Stat("/dev/uinput"); err != nil {
		testenv.HardwareOnly(t, "/dev/uinput is missing (%v): this kernel or container has no uinput, so the "+
			"real evdev/EVIOCGRAB path cannot be exercised here; key decoding is covered by the "+
			"fixtures in testdata/keys. Run this test on a register (modprobe uinput, as root).", err)
	}
	name := fmt.Sprintf("posdisplay test barcode scanner %d", os.Getpid())
	keys := []evdev.EvCode{evdev.KEY_LEFTSHIFT, evdev.KEY_ENTER, evdev.KEY_H, evdev.KEY_A,
		evdev.KEY_1, evdev.KEY_2, evdev.KEY_4, evdev.KEY_0, evdev.KEY_6, evdev.KEY_3, evdev.KEY_8, evdev.KEY_9}
	dev, err := evdev.CreateDevice(name, evdev.InputID{BusType: 0x03, Vendor: 0x05e0, Product: 0x1200, Version: 1},
		map[evdev.EvType][]evdev.EvCode{evdev.EV_KEY: keys})
	if err != nil {
		testenv.HardwareOnly(t, "cannot create a uinput device (%v); needs root or write access to /dev/uinput", err)
	}
	destroyed := false
	destroy := func() {
		if !destroyed {
			destroyed = true
			evdev.DestroyDevice(dev)
			dev.Close()
		}
	}
	defer destroy()

	var logs syncBuffer
	m, err := NewManager([]Config{{Name: "uinput", Kind: KindHID, HID: HIDConfig{NameMatch: name}}}, fastOpts(t, &logs))
	if err != nil {
		t.Fatal(err)
	}
	scans, stop := started(t, m)
	waitFor(t, "connected", func() bool { return stateOf(m, "uinput").State == StateConnected })

	// While grabbed, nobody else may grab it.
	path := stateOf(m, "uinput").Device
	other, err := evdev.OpenWithFlags(path, os.O_RDONLY)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	if err := other.Grab(); err == nil {
		t.Errorf("second EVIOCGRAB on %s succeeded, want EBUSY (our grab is not exclusive)", path)
		other.Ungrab()
	}
	other.Close()

	typeKeys := func(seq ...evdev.EvCode) {
		for _, c := range seq {
			shift := c == evdev.KEY_H || c == evdev.KEY_A
			if shift {
				key(t, dev, evdev.KEY_LEFTSHIFT, 1)
			}
			key(t, dev, c, 1)
			key(t, dev, c, 0)
			if shift {
				key(t, dev, evdev.KEY_LEFTSHIFT, 0)
			}
		}
	}
	typeKeys(evdev.KEY_H, evdev.KEY_A, evdev.KEY_1, evdev.KEY_1, evdev.KEY_2, evdev.KEY_ENTER)
	if s := next(t, scans); s.Code != "HA112" || s.Timing == nil {
		t.Errorf("scan = %q timing %v, want HA112 with timing", s.Code, s.Timing)
	}
	typeKeys(evdev.KEY_4, evdev.KEY_0, evdev.KEY_0, evdev.KEY_6, evdev.KEY_3, evdev.KEY_8, evdev.KEY_1,
		evdev.KEY_3, evdev.KEY_3, evdev.KEY_3, evdev.KEY_9, evdev.KEY_3, evdev.KEY_1, evdev.KEY_ENTER)
	if s := next(t, scans); s.Code != "4006381333931" || s.Symbology != SymbologyEAN13 || s.Check != CheckValid {
		t.Errorf("scan = %+v, want EAN-13 4006381333931 valid", s)
	}

	destroy() // unplug
	waitFor(t, "waiting after unplug", func() bool { return stateOf(m, "uinput").State != StateConnected })
	stop()
	if !strings.Contains(logs.String(), "scanner connected") {
		t.Errorf("no connect log")
	}
}

func key(t *testing.T, dev *evdev.InputDevice, code evdev.EvCode, v int32) {
	t.Helper()
	for _, e := range []evdev.InputEvent{
		{Type: evdev.EV_KEY, Code: code, Value: v},
		{Type: evdev.EV_SYN, Code: evdev.SYN_REPORT, Value: 0},
	} {
		if err := dev.WriteOne(&e); err != nil {
			t.Fatalf("uinput write: %v", err)
		}
	}
	time.Sleep(time.Millisecond) // scanner pace; keeps the burst a burst
}
