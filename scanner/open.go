package scanner

import (
	"fmt"
	"os"

	"github.com/holoplot/go-evdev"
	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"
)

// openSerial is the default Options.OpenSerial: resolve the port and open
// it with the configured line settings.
func openSerial(s SerialConfig) (Port, string, error) {
	path, err := resolveSerialPath(s, func() ([]*enumerator.PortDetails, error) {
		return enumerator.GetDetailedPortsList()
	})
	if err != nil {
		return nil, "", err
	}
	mode, err := s.serialMode()
	if err != nil {
		return nil, path, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	p, err := serial.Open(path, mode)
	if err != nil {
		return nil, path, fmt.Errorf("open %s: %w", path, err)
	}
	return p, path, nil
}

// openHID is the default Options.OpenHID: resolve the input device, open
// it, grab it unless configured not to, and make reads interruptible by
// Close.
func openHID(h HIDConfig) (EventDevice, string, error) {
	path, err := resolveHIDPath(h, func() ([]InputDevice, error) {
		return readInputDevices(procInputList)
	})
	if err != nil {
		return nil, "", err
	}
	d, err := evdev.OpenWithFlags(path, os.O_RDONLY)
	if err != nil {
		return nil, path, fmt.Errorf("open %s: %w", path, err)
	}
	if h.GrabEnabled() {
		if err := d.Grab(); err != nil {
			d.Close()
			return nil, path, fmt.Errorf("grab %s (another program holds it?): %w", path, err)
		}
	}
	// NonBlock last: every Fd() call (Grab does one) makes the file
	// blocking again, and only a non-blocking file lets Close interrupt
	// ReadOne.
	if err := d.NonBlock(); err != nil {
		d.Close()
		return nil, path, fmt.Errorf("set %s non-blocking: %w", path, err)
	}
	return d, path, nil
}
