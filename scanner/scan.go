package scanner

import "time"

// Symbology names reported in [Scan.Symbology]. They are stable wire values:
// the POS page receives them verbatim.
const (
	SymbologyEAN13         = "ean-13"
	SymbologyEAN8          = "ean-8"
	SymbologyUPCA          = "upc-a"
	SymbologyUPCE          = "upc-e"
	SymbologyCode128       = "code128"
	SymbologyGS1128        = "gs1-128"
	SymbologyGS1DataMatrix = "gs1-datamatrix"
	SymbologyGS1QR         = "gs1-qr"
	SymbologyGS1DataBar    = "gs1-databar"
	SymbologyQR            = "qr"
	SymbologyDataMatrix    = "datamatrix"
	SymbologyCode39        = "code39"
	SymbologyCode93        = "code93"
	SymbologyCodabar       = "codabar"
	SymbologyITF           = "itf"
	SymbologyPDF417        = "pdf417"
	SymbologyAztec         = "aztec"
	SymbologyUnknown       = "unknown"
)

// Check-digit results reported in [Scan.Check].
const (
	CheckValid         = "valid"
	CheckInvalid       = "invalid"
	CheckNotApplicable = "not-applicable"
)

// Scan is one decoded barcode read.
type Scan struct {
	// Code is the scanned data with the AIM identifier, the configured
	// prefix/suffix and the terminator removed. Nothing else is changed.
	Code string `json:"code"`
	// Raw is the frame as received, without the terminator only.
	Raw string `json:"raw"`
	// Symbology is one of the Symbology* names.
	Symbology string `json:"symbology"`
	// AIM is the AIM symbology identifier (e.g. "]E0") when the scanner sent
	// one, else "".
	AIM string `json:"aim,omitempty"`
	// SymbologyInferred is true when no AIM identifier was sent and the
	// symbology was guessed from the data (digits of GTIN length).
	SymbologyInferred bool `json:"symbology_inferred,omitempty"`
	// Check is the check-digit result: CheckValid, CheckInvalid or
	// CheckNotApplicable. For GS1 element strings it covers AIs 00, 01, 02.
	Check string `json:"check"`
	// GS1 holds the parsed GS1 element string, when the data is one.
	GS1 []GS1Element `json:"gs1,omitempty"`
	// GS1Error says why data that should be a GS1 element string did not
	// parse; GS1 is then empty.
	GS1Error string `json:"gs1_error,omitempty"`
	// InvalidUTF8 is set when Code is not valid UTF-8 (a serial scanner
	// sending Latin-1 or binary data). JSON encoding would replace the bad
	// bytes with U+FFFD; Raw and this flag tell that it happened.
	InvalidUTF8 bool `json:"invalid_utf8,omitempty"`
	// Source is the configured name of the scanner that read it.
	Source string `json:"source"`
	// At is when the terminator was received.
	At time.Time `json:"at"`
	// Timing holds inter-key timing for keyboard-wedge scanners, nil for
	// serial ones.
	Timing *KeyTiming `json:"timing,omitempty"`
}

// GS1Element is one application identifier and its data.
type GS1Element struct {
	AI    string `json:"ai"`
	Value string `json:"value"`
}

// KeyTiming summarises the gaps between key presses of one keyboard-wedge
// scan, terminator included. A scanner burst has gaps of a few
// milliseconds; a person typing has gaps of 100 ms and more.
type KeyTiming struct {
	Keys      int           `json:"keys"`
	MinGap    time.Duration `json:"min_gap_ns"`
	MedianGap time.Duration `json:"median_gap_ns"`
	MaxGap    time.Duration `json:"max_gap_ns"`
	Total     time.Duration `json:"total_ns"`
}
