package pole

import (
	"errors"
	"fmt"
	"strings"
)

// ErrConfig is wrapped by every configuration error of this package.
var ErrConfig = errors.New("pole: bad config")

// CommandSet is the byte language of one family of pole displays. Rows and
// columns are 1-based, as on the wire.
type CommandSet interface {
	// Name is the config name.
	Name() string
	// Init resets the display, selects the code page (when the command
	// set can), sets the brightness (1-4), hides the cursor and clears.
	Init(cp *CodePage, brightness int) []byte
	// Row returns the bytes that write cells at the start of row.
	Row(row int, cells []byte) []byte
}

// LookupCommandSet returns the command set named name ("" is Epson's).
func LookupCommandSet(name string) (CommandSet, error) {
	switch strings.ToLower(name) {
	case "", "epson", "escpos":
		return Epson{}, nil
	case "cd5220", "logic-controls":
		return CD5220{}, nil
	}
	return nil, fmt.Errorf("%w: command set %q (want epson or cd5220)", ErrConfig, name)
}

// clampBrightness keeps a brightness within the 4 levels both command sets
// know (25 % steps); 0 means full brightness.
func clampBrightness(b int) byte {
	switch {
	case b <= 0 || b > 4:
		return 4
	}
	return byte(b)
}
