package scanner

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/posdisplay/posdisplay/register/configfile"
	"go.bug.st/serial"
)

// Scanner kinds.
const (
	KindSerial = "serial"
	KindHID    = "hid"
)

// Serial terminators.
const (
	// TerminatorAny ends a scan at CR or LF and ignores empty frames, so
	// CR, LF and CRLF scanners all work unconfigured.
	TerminatorAny  = "any"
	TerminatorCR   = "cr"
	TerminatorLF   = "lf"
	TerminatorCRLF = "crlf"
	// TerminatorIdle ends a scan when no byte arrived for IdleGap; for
	// scanners that send no terminator or whose data may contain CR/LF.
	TerminatorIdle = "idle"
)

// Defaults applied by [Config.WithDefaults].
const (
	// DefaultBaud is the factory setting of most RS-232 scanners.
	DefaultBaud = 9600
	// DefaultIdleGap is long enough for 9600 baud (about 1 ms per byte)
	// with USB-serial latency, short enough to feel instant.
	DefaultIdleGap = 50 * time.Millisecond
	// DefaultStaleTimeout: no scanner pauses this long inside one scan,
	// so a partial older than this is leftover noise and is dropped.
	DefaultStaleTimeout = 500 * time.Millisecond
	// DefaultKeyStaleTimeout is shorter for keyboard wedges: the kernel
	// timestamps key events at USB arrival, so a scanner never pauses this
	// long inside a scan, while on a shared keyboard a person who types a
	// quantity and then scans does pause this long; the typed prefix is
	// dropped instead of being glued to the scan.
	DefaultKeyStaleTimeout = 200 * time.Millisecond
	// DefaultMaxLength bounds one frame; the largest 2D codes a register
	// meets (PDF417 ID cards) stay under 2 KiB.
	DefaultMaxLength = 4096
	// DefaultMaxKeyGap is the largest median gap between key presses that
	// still counts as a scanner burst. Scanners type at 1-20 ms per key,
	// people at 80 ms and more.
	DefaultMaxKeyGap = 50 * time.Millisecond
	// DefaultLayout is the keyboard layout HID scanners ship with.
	DefaultLayout = "us"
)

// ErrInvalidConfig is wrapped by every configuration error.
var ErrInvalidConfig = errors.New("invalid scanner config")

// ConfigError is one problem with one configuration field.
type ConfigError struct {
	Scanner string // the scanner's name, or its index when unnamed
	Field   string // the snake_case key, e.g. "serial.baud"
	Reason  string
}

// Error implements error.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("scanner %s: %s: %s", e.Scanner, e.Field, e.Reason)
}

// Unwrap lets errors.Is(err, ErrInvalidConfig) match.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// Config describes one scanner. See scanners.example.toml for every key.
type Config struct {
	// Name identifies the scanner in scans (Scan.Source), logs and status.
	Name string `toml:"name" json:"name"`
	// Kind is KindSerial or KindHID.
	Kind string `toml:"kind" json:"kind"`
	// StripPrefix and StripSuffix are removed from each frame when present,
	// for scanners programmed to add them (e.g. STX/ETX). Data without them
	// is passed on unchanged.
	StripPrefix string `toml:"strip_prefix" json:"strip_prefix,omitempty"`
	StripSuffix string `toml:"strip_suffix" json:"strip_suffix,omitempty"`
	// Serial is used when Kind is KindSerial.
	Serial SerialConfig `toml:"serial" json:"serial"`
	// HID is used when Kind is KindHID.
	HID HIDConfig `toml:"hid" json:"hid"`
}

// SerialConfig selects and frames a serial scanner. Exactly one of Path,
// ByID or USBVendor+USBProduct selects the port.
type SerialConfig struct {
	// Path is a device node, e.g. /dev/ttyUSB0.
	Path string `toml:"path" json:"path,omitempty"`
	// ByID is a name under /dev/serial/by-id (or a full path there).
	ByID string `toml:"by_id" json:"by_id,omitempty"`
	// USBVendor and USBProduct are 4-digit hex USB ids, e.g. "05e0".
	USBVendor  string `toml:"usb_vendor" json:"usb_vendor,omitempty"`
	USBProduct string `toml:"usb_product" json:"usb_product,omitempty"`
	// USBSerial narrows the USB id match to one device serial number.
	USBSerial string `toml:"usb_serial" json:"usb_serial,omitempty"`
	// Baud is the bit rate; default DefaultBaud.
	Baud int `toml:"baud" json:"baud,omitempty"`
	// Parity is "none" (default), "odd", "even", "mark" or "space".
	Parity string `toml:"parity" json:"parity,omitempty"`
	// DataBits is 5-8; default 8.
	DataBits int `toml:"data_bits" json:"data_bits,omitempty"`
	// StopBits is "1" (default), "1.5" or "2".
	StopBits string `toml:"stop_bits" json:"stop_bits,omitempty"`
	// Terminator is one of the Terminator* values; default TerminatorAny.
	Terminator string `toml:"terminator" json:"terminator,omitempty"`
	// IdleGap ends a frame with TerminatorIdle; default DefaultIdleGap.
	IdleGap configfile.Duration `toml:"idle_gap" json:"idle_gap,omitempty"`
	// StaleTimeout drops a partial frame when the next byte comes this late;
	// default DefaultStaleTimeout.
	StaleTimeout configfile.Duration `toml:"stale_timeout" json:"stale_timeout,omitempty"`
	// MaxLength bounds a frame; longer frames are dropped whole. Default
	// DefaultMaxLength.
	MaxLength int `toml:"max_length" json:"max_length,omitempty"`
}

// HIDConfig selects and decodes a USB-HID keyboard-wedge scanner. Exactly
// one of Path, ByID or NameMatch selects the input device.
type HIDConfig struct {
	// Path is an evdev node, e.g. /dev/input/event3.
	Path string `toml:"path" json:"path,omitempty"`
	// ByID is a name under /dev/input/by-id (or a full path there).
	ByID string `toml:"by_id" json:"by_id,omitempty"`
	// NameMatch selects the first device whose kernel name contains it
	// (case-insensitive).
	NameMatch string `toml:"name_match" json:"name_match,omitempty"`
	// Grab takes the device exclusively (EVIOCGRAB) so scans never type
	// into other windows. Default true.
	Grab *bool `toml:"grab" json:"grab,omitempty"`
	// Layout is the keyboard layout the scanner is programmed for: "us"
	// (default), "uk", "de" or "fr".
	Layout string `toml:"layout" json:"layout,omitempty"`
	// MinKeyGap and MaxKeyGap bound the median gap between key presses of
	// a scanner burst; input outside them is taken for a person typing and
	// dropped. Defaults 0 and DefaultMaxKeyGap.
	MinKeyGap configfile.Duration `toml:"min_key_gap" json:"min_key_gap,omitempty"`
	MaxKeyGap configfile.Duration `toml:"max_key_gap" json:"max_key_gap,omitempty"`
	// MinLength drops shorter scans (stray Enter presses); default 1.
	MinLength int `toml:"min_length" json:"min_length,omitempty"`
	// StaleTimeout drops partial input when the next key comes this late;
	// default DefaultKeyStaleTimeout.
	StaleTimeout configfile.Duration `toml:"stale_timeout" json:"stale_timeout,omitempty"`
}

// GrabEnabled reports whether the device is grabbed (default true).
func (h HIDConfig) GrabEnabled() bool { return h.Grab == nil || *h.Grab }

// WithDefaults returns c with every unset field given its default.
func (c Config) WithDefaults() Config {
	s := &c.Serial
	if s.Baud == 0 {
		s.Baud = DefaultBaud
	}
	if s.Parity == "" {
		s.Parity = "none"
	}
	if s.DataBits == 0 {
		s.DataBits = 8
	}
	if s.StopBits == "" {
		s.StopBits = "1"
	}
	if s.Terminator == "" {
		s.Terminator = TerminatorAny
	}
	if s.IdleGap == 0 {
		s.IdleGap = configfile.Duration(DefaultIdleGap)
	}
	if s.StaleTimeout == 0 {
		s.StaleTimeout = configfile.Duration(DefaultStaleTimeout)
	}
	if s.MaxLength == 0 {
		s.MaxLength = DefaultMaxLength
	}
	h := &c.HID
	if h.Layout == "" {
		h.Layout = DefaultLayout
	}
	if h.MaxKeyGap == 0 {
		h.MaxKeyGap = configfile.Duration(DefaultMaxKeyGap)
	}
	if h.MinLength == 0 {
		h.MinLength = 1
	}
	if h.StaleTimeout == 0 {
		h.StaleTimeout = configfile.Duration(DefaultKeyStaleTimeout)
	}
	return c
}

var (
	scannerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	usbID       = regexp.MustCompile(`^[0-9A-Fa-f]{4}$`)
)

// Validate checks c after applying defaults. The error joins one
// *ConfigError per problem; each wraps ErrInvalidConfig.
func (c Config) Validate() error {
	c = c.WithDefaults()
	name := c.Name
	if name == "" {
		name = "(unnamed)"
	}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &ConfigError{Scanner: name, Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if !scannerName.MatchString(c.Name) {
		bad("name", "%q must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", c.Name)
	}
	if len(c.StripPrefix) > 16 {
		bad("strip_prefix", "longer than 16 bytes")
	}
	if len(c.StripSuffix) > 16 {
		bad("strip_suffix", "longer than 16 bytes")
	}
	switch c.Kind {
	case KindSerial:
		s := c.Serial
		n := 0
		for _, v := range []string{s.Path, s.ByID, s.USBVendor + s.USBProduct} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			bad("serial", "set exactly one of path, by_id, or usb_vendor with usb_product (got %d)", n)
		}
		if (s.USBVendor != "") != (s.USBProduct != "") {
			bad("serial.usb_vendor", "usb_vendor and usb_product go together")
		}
		if s.USBVendor != "" && !usbID.MatchString(s.USBVendor) {
			bad("serial.usb_vendor", "%q is not 4 hex digits", s.USBVendor)
		}
		if s.USBProduct != "" && !usbID.MatchString(s.USBProduct) {
			bad("serial.usb_product", "%q is not 4 hex digits", s.USBProduct)
		}
		if s.USBSerial != "" && s.USBVendor == "" {
			bad("serial.usb_serial", "needs usb_vendor and usb_product")
		}
		if s.Path != "" && !strings.HasPrefix(s.Path, "/") {
			bad("serial.path", "%q is not an absolute path", s.Path)
		}
		if strings.Contains(s.ByID, "..") {
			bad("serial.by_id", "%q must not contain ..", s.ByID)
		}
		if s.Baud < 50 || s.Baud > 4000000 {
			bad("serial.baud", "%d is outside 50..4000000", s.Baud)
		}
		if _, err := parseParity(s.Parity); err != nil {
			bad("serial.parity", "%v", err)
		}
		if s.DataBits < 5 || s.DataBits > 8 {
			bad("serial.data_bits", "%d is outside 5..8", s.DataBits)
		}
		if _, err := parseStopBits(s.StopBits); err != nil {
			bad("serial.stop_bits", "%v", err)
		}
		switch s.Terminator {
		case TerminatorAny, TerminatorCR, TerminatorLF, TerminatorCRLF, TerminatorIdle:
		default:
			bad("serial.terminator", "%q is not one of any, cr, lf, crlf, idle", s.Terminator)
		}
		if s.IdleGap < configfile.Duration(time.Millisecond) || s.IdleGap > configfile.Duration(5*time.Second) {
			bad("serial.idle_gap", "%v is outside 1ms..5s", time.Duration(s.IdleGap))
		}
		if s.StaleTimeout < configfile.Duration(10*time.Millisecond) {
			bad("serial.stale_timeout", "%v is below 10ms", time.Duration(s.StaleTimeout))
		}
		if s.MaxLength < 1 || s.MaxLength > 1<<20 {
			bad("serial.max_length", "%d is outside 1..1048576", s.MaxLength)
		}
	case KindHID:
		h := c.HID
		n := 0
		for _, v := range []string{h.Path, h.ByID, h.NameMatch} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			bad("hid", "set exactly one of path, by_id or name_match (got %d)", n)
		}
		if h.Path != "" && !strings.HasPrefix(h.Path, "/") {
			bad("hid.path", "%q is not an absolute path", h.Path)
		}
		if strings.Contains(h.ByID, "..") {
			bad("hid.by_id", "%q must not contain ..", h.ByID)
		}
		if _, ok := layouts[h.Layout]; !ok {
			bad("hid.layout", "%q is not one of %s", h.Layout, strings.Join(LayoutNames(), ", "))
		}
		if h.MinKeyGap < 0 || h.MaxKeyGap <= h.MinKeyGap {
			bad("hid.max_key_gap", "want 0 <= min_key_gap (%v) < max_key_gap (%v)",
				time.Duration(h.MinKeyGap), time.Duration(h.MaxKeyGap))
		}
		if h.StaleTimeout < h.MaxKeyGap {
			bad("hid.stale_timeout", "%v is below max_key_gap %v", time.Duration(h.StaleTimeout), time.Duration(h.MaxKeyGap))
		}
		if h.MinLength < 1 || h.MinLength > 1024 {
			bad("hid.min_length", "%d is outside 1..1024", h.MinLength)
		}
	case "":
		bad("kind", "missing; want serial or hid")
	default:
		bad("kind", "%q is not serial or hid", c.Kind)
	}
	return errors.Join(errs...)
}

// ValidateConfigs validates each config and checks that names are unique.
func ValidateConfigs(cfgs []Config) error {
	var errs []error
	seen := map[string]bool{}
	for i, c := range cfgs {
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
		}
		if c.Name != "" && seen[c.Name] {
			errs = append(errs, &ConfigError{Scanner: c.Name, Field: "name", Reason: fmt.Sprintf("duplicate name (entry %d)", i)})
		}
		seen[c.Name] = true
	}
	return errors.Join(errs...)
}

func parseParity(s string) (serial.Parity, error) {
	switch s {
	case "none":
		return serial.NoParity, nil
	case "odd":
		return serial.OddParity, nil
	case "even":
		return serial.EvenParity, nil
	case "mark":
		return serial.MarkParity, nil
	case "space":
		return serial.SpaceParity, nil
	}
	return 0, fmt.Errorf("%q is not one of none, odd, even, mark, space", s)
}

func parseStopBits(s string) (serial.StopBits, error) {
	switch s {
	case "1":
		return serial.OneStopBit, nil
	case "1.5":
		return serial.OnePointFiveStopBits, nil
	case "2":
		return serial.TwoStopBits, nil
	}
	return 0, fmt.Errorf("%q is not one of 1, 1.5, 2", s)
}

// serialMode builds the go.bug.st/serial mode. InitialStatusBits stays nil:
// setting it fails on ptys and USB CDC devices that lack modem lines.
func (s SerialConfig) serialMode() (*serial.Mode, error) {
	p, err := parseParity(s.Parity)
	if err != nil {
		return nil, err
	}
	sb, err := parseStopBits(s.StopBits)
	if err != nil {
		return nil, err
	}
	return &serial.Mode{BaudRate: s.Baud, DataBits: s.DataBits, Parity: p, StopBits: sb}, nil
}
