package scanner

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"go.bug.st/serial/enumerator"
)

// SerialPort is a serial port found on the machine.
type SerialPort struct {
	Path         string   `json:"path"`
	ByID         []string `json:"by_id,omitempty"` // names under /dev/serial/by-id
	USB          bool     `json:"usb"`
	VID          string   `json:"vid,omitempty"`
	PID          string   `json:"pid,omitempty"`
	SerialNumber string   `json:"serial_number,omitempty"`
	Product      string   `json:"product,omitempty"`
}

// InputCandidate is a keyboard-like input device that could be a
// keyboard-wedge scanner.
type InputCandidate struct {
	InputDevice
	ByID []string `json:"by_id,omitempty"` // names under /dev/input/by-id
	// LikelyScanner is set when the name or USB vendor belongs to a
	// barcode scanner maker.
	LikelyScanner bool `json:"likely_scanner"`
}

// Devices is what ListDevices finds.
type Devices struct {
	Serial []SerialPort     `json:"serial"`
	Input  []InputCandidate `json:"input"`
	// Problems lists sources that could not be read (e.g. no /dev/input in
	// a container); the rest of the list is still valid.
	Problems []string `json:"problems,omitempty"`
}

// scannerVendors are USB vendor ids of barcode scanner makers.
var scannerVendors = map[string]string{
	"05e0": "Zebra/Symbol",
	"0c2e": "Honeywell/Metrologic",
	"05f9": "Datalogic",
	"1eab": "Newland",
	"065a": "Opticon",
	"0536": "Hand Held Products",
	"1a86": "generic (QinHeng) scanner bridge",
	"2dd6": "Netum",
	"1d57": "generic 2.4G scanner",
	"0483": "generic STM32 scanner",
	"1504": "Zebex",
	"04b4": "Cypress (some wedge scanners)",
}

var scannerWords = []string{"barcode", "bar code", "scanner", "scan", "honeywell", "zebra", "symbol",
	"datalogic", "newland", "opticon", "metrologic", "hand held", "netum", "zebex", "imager"}

// devicePaths lets tests point ListDevices at a fake /dev and /proc.
type devicePaths struct {
	serialByID string
	inputByID  string
	procInput  string
	enumerate  func() ([]*enumerator.PortDetails, error)
}

// ListDevices lists serial ports (with USB ids) and keyboard-like input
// devices, marking those that look like barcode scanners, for the
// "scanners" store-IT command. Unreadable sources are reported in
// Devices.Problems, not as an error.
func ListDevices() Devices {
	return listDevices(devicePaths{
		serialByID: serialByIDDir,
		inputByID:  inputByIDDir,
		procInput:  procInputList,
		enumerate:  func() ([]*enumerator.PortDetails, error) { return enumerator.GetDetailedPortsList() },
	})
}

func listDevices(p devicePaths) Devices {
	var d Devices
	problem := func(err error) { d.Problems = append(d.Problems, err.Error()) }
	serialLinks, err := byIDLinks(p.serialByID)
	if err != nil {
		problem(err)
	}
	ports, err := p.enumerate()
	if err != nil {
		problem(fmt.Errorf("serial ports: %w", err))
	}
	for _, sp := range ports {
		d.Serial = append(d.Serial, SerialPort{
			Path: sp.Name, ByID: serialLinks[sp.Name], USB: sp.IsUSB,
			VID: strings.ToLower(sp.VID), PID: strings.ToLower(sp.PID), SerialNumber: sp.SerialNumber, Product: sp.Product,
		})
	}
	inputLinks, err := byIDLinks(p.inputByID)
	if err != nil {
		problem(err)
	}
	devs, err := readInputDevices(p.procInput)
	if err != nil {
		problem(err)
	}
	for _, dev := range devs {
		if !dev.Keyboard || dev.Event == "" {
			continue
		}
		c := InputCandidate{InputDevice: dev, ByID: inputLinks[dev.Event]}
		c.LikelyScanner = likelyScanner(dev)
		d.Input = append(d.Input, c)
	}
	slices.SortStableFunc(d.Input, func(a, b InputCandidate) int {
		switch {
		case a.LikelyScanner == b.LikelyScanner:
			return 0
		case a.LikelyScanner:
			return -1
		}
		return 1
	})
	return d
}

func likelyScanner(d InputDevice) bool {
	if _, ok := scannerVendors[strings.ToLower(d.Vendor)]; ok && d.Bus == "0003" {
		return true
	}
	name := strings.ToLower(d.Name)
	for _, w := range scannerWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// byIDLinks maps device nodes to the names of the links pointing at them
// in dir. A missing dir is not an error: it only means no such devices.
func byIDLinks(dir string) (map[string][]string, error) {
	out := map[string][]string{}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("list %s: %w", dir, err)
	}
	for _, e := range ents {
		target, err := filepath.EvalSymlinks(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		out[target] = append(out[target], e.Name())
	}
	return out, nil
}

// FormatDevices writes d as a table for people.
func FormatDevices(w io.Writer, d Devices) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERIAL PORTS")
	if len(d.Serial) == 0 {
		fmt.Fprintln(tw, "  (none)")
	} else {
		fmt.Fprintln(tw, "  PATH\tUSB ID\tSERIAL\tPRODUCT\tBY-ID")
	}
	for _, s := range d.Serial {
		id := "-"
		if s.USB {
			id = s.VID + ":" + s.PID
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", s.Path, id, dash(s.SerialNumber), dash(s.Product), dash(strings.Join(s.ByID, " ")))
	}
	fmt.Fprintln(tw, "\nKEYBOARD-LIKE INPUT DEVICES (hid scanners)")
	if len(d.Input) == 0 {
		fmt.Fprintln(tw, "  (none)")
	} else {
		fmt.Fprintln(tw, "  EVENT\tUSB ID\tNAME\tSCANNER?\tBY-ID")
	}
	for _, c := range d.Input {
		likely := "maybe"
		if c.LikelyScanner {
			likely = "likely"
		}
		fmt.Fprintf(tw, "  %s\t%s:%s\t%q\t%s\t%s\n", c.Event, dash(c.Vendor), dash(c.Product), c.Name, likely, dash(strings.Join(c.ByID, " ")))
	}
	for _, p := range d.Problems {
		fmt.Fprintf(tw, "\nnote: %s\n", p)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
