package pole

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"
)

// DefaultBaud is the rate pole displays leave the factory with.
const DefaultBaud = 9600

// serialByIDDir is where udev keeps stable names of USB serial adapters.
const serialByIDDir = "/dev/serial/by-id"

// Port is an open connection to a pole display. Write sends bytes; Read
// returns an error once the device is gone (unplugged), which is how an
// idle pole notices; Close unblocks Read. *serial.Port satisfies it.
type Port interface {
	io.ReadWriteCloser
}

// PortConfig says where a pole display is and how it talks. Exactly one of
// Path, ByID or USBVendor+USBProduct selects the port, as for scanners.
type PortConfig struct {
	// Path is a device node, e.g. /dev/ttyUSB0 or /dev/ttyS0.
	Path string `toml:"path"`
	// ByID is a name under /dev/serial/by-id (or a full path there): it
	// survives replugging into another USB socket.
	ByID string `toml:"by_id"`
	// USBVendor and USBProduct are 4-digit hex USB ids; USBSerial narrows
	// the match to one device.
	USBVendor  string `toml:"usb_vendor"`
	USBProduct string `toml:"usb_product"`
	USBSerial  string `toml:"usb_serial"`
	// Baud is the bit rate (default 9600).
	Baud int `toml:"baud"`
	// Parity is "none" (default), "odd" or "even".
	Parity string `toml:"parity"`
}

// Check reports a port selection or line setting that cannot work.
func (c PortConfig) Check() error {
	n := 0
	for _, set := range []bool{c.Path != "", c.ByID != "", c.USBVendor != "" || c.USBProduct != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: set exactly one of path, by_id or usb_vendor+usb_product", ErrConfig)
	}
	if (c.USBVendor == "") != (c.USBProduct == "") {
		return fmt.Errorf("%w: usb_vendor and usb_product go together", ErrConfig)
	}
	if c.Baud < 0 || c.Baud > 921600 {
		return fmt.Errorf("%w: baud %d", ErrConfig, c.Baud)
	}
	_, err := c.parity()
	return err
}

func (c PortConfig) parity() (serial.Parity, error) {
	switch strings.ToLower(c.Parity) {
	case "", "none":
		return serial.NoParity, nil
	case "odd":
		return serial.OddParity, nil
	case "even":
		return serial.EvenParity, nil
	}
	return 0, fmt.Errorf("%w: parity %q (want none, odd or even)", ErrConfig, c.Parity)
}

// resolve finds the device node. enumerate lists USB serial ports.
func (c PortConfig) resolve(enumerate func() ([]*enumerator.PortDetails, error)) (string, error) {
	switch {
	case c.Path != "":
		return c.Path, nil
	case c.ByID != "":
		if filepath.IsAbs(c.ByID) {
			return c.ByID, nil
		}
		return filepath.Join(serialByIDDir, c.ByID), nil
	}
	ports, err := enumerate()
	if err != nil {
		return "", fmt.Errorf("enumerate serial ports: %w", err)
	}
	for _, p := range ports {
		if p.IsUSB && strings.EqualFold(p.VID, c.USBVendor) && strings.EqualFold(p.PID, c.USBProduct) &&
			(c.USBSerial == "" || p.SerialNumber == c.USBSerial) {
			return p.Name, nil
		}
	}
	return "", fmt.Errorf("no serial port with USB id %s:%s", c.USBVendor, c.USBProduct)
}

// OpenSerial resolves and opens the port with its line settings (8 data
// bits, 1 stop bit: every pole display's framing).
func OpenSerial(c PortConfig) (Port, string, error) {
	path, err := c.resolve(func() ([]*enumerator.PortDetails, error) { return enumerator.GetDetailedPortsList() })
	if err != nil {
		return nil, "", err
	}
	par, err := c.parity()
	if err != nil {
		return nil, path, err
	}
	baud := c.Baud
	if baud == 0 {
		baud = DefaultBaud
	}
	p, err := serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: par, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, path, fmt.Errorf("open %s: %w", path, err)
	}
	return p, path, nil
}
