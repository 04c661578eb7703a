package pole

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// CodePage is the character table a display's ROM holds: each rune the
// customer should read becomes one byte, or is transliterated into
// characters the table has. It is immutable.
type CodePage struct {
	// Name is the config name ("cp437", "cp858", "cp1252").
	Name string
	// Epson is the ESC t n table number of this code page on Epson
	// customer displays.
	Epson byte
	table *charmap.Charmap
}

// The code pages pole displays ship with. PC437 is every clone's default;
// PC858 is PC850 with € at 0xD5; WPC1252 is the Windows Latin-1 table. The
// ESC t numbers are the page numbers of Epson's ESC/POS character code
// tables (download4.epson.biz/sec_pubs/pos/reference_en/charcode/: page 0
// PC437, 16 WPC1252, 19 PC858); a display's manual lists which of them its
// ROM holds. The byte tables are golang.org/x/text's charmaps.
var codePages = map[string]*CodePage{
	"cp437":  {Name: "cp437", Epson: 0, table: charmap.CodePage437},
	"cp858":  {Name: "cp858", Epson: 19, table: charmap.CodePage858},
	"cp1252": {Name: "cp1252", Epson: 16, table: charmap.Windows1252},
}

// LookupCodePage returns the code page named name ("" is cp437).
func LookupCodePage(name string) (*CodePage, error) {
	if name == "" {
		name = "cp437"
	}
	cp, ok := codePages[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("%w: code page %q (want cp437, cp858 or cp1252)", ErrConfig, name)
	}
	return cp, nil
}

// fallbacks are spellings for characters that no decomposition reaches.
// A character with no entry and no encodable decomposition becomes "?".
var fallbacks = map[rune]string{
	'€': "EUR", '£': "GBP", '¥': "JPY", '₹': "INR", '₽': "RUB", '₺': "TRY", '₩': "KRW", '₪': "ILS",
	'ß': "ss", 'Æ': "AE", 'æ': "ae", 'Œ': "OE", 'œ': "oe", 'Ø': "O", 'ø': "o", 'Å': "A", 'å': "a",
	'Ð': "D", 'ð': "d", 'Þ': "Th", 'þ': "th", 'Ł': "L", 'ł': "l", 'đ': "d", 'Đ': "D", 'ı': "i",
	'‘': "'", '’': "'", '‚': ",", '“': "\"", '”': "\"",
	'„': "\"", '–': "-", '—': "-", '−': "-", '…': "...", '×': "x", '•': "*", '·': ".",
}

// Encode returns the bytes of r in this code page: itself when the table
// has it, otherwise its base letters without accents (é → e) when the table
// has those, otherwise a fallback spelling (€ → EUR), otherwise "?".
// Control characters become nothing: they would be commands on the wire.
func (cp *CodePage) Encode(r rune) []byte {
	if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == unicode.ReplacementChar {
		return nil
	}
	if unicode.Is(unicode.Mn, r) {
		return nil // a mark left over after composing: the letter it sat on is shown
	}
	if unicode.IsSpace(r) || unicode.Is(unicode.Zs, r) {
		return []byte{' '} // no-break and thin spaces (money uses them) look the same on a pole
	}
	if b, ok := cp.table.EncodeRune(r); ok && (b >= 0x20 && b != 0x7f) {
		return []byte{b}
	}
	if s, ok := fallbacks[r]; ok {
		if out, ok := cp.encodeAll(s); ok {
			return out
		}
	}
	var out []byte
	for _, d := range norm.NFD.String(string(r)) {
		if unicode.Is(unicode.Mn, d) {
			continue
		}
		b, ok := cp.table.EncodeRune(d)
		if !ok || b < 0x20 || b == 0x7f {
			return []byte{'?'}
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return []byte{'?'}
	}
	return out
}

func (cp *CodePage) encodeAll(s string) ([]byte, bool) {
	var out []byte
	for _, r := range s {
		b, ok := cp.table.EncodeRune(r)
		if !ok {
			return nil, false
		}
		out = append(out, b)
	}
	return out, true
}

// Decode returns the rune a display of this code page shows for b (the
// emulator in poletest reads the wire with it).
func (cp *CodePage) Decode(b byte) rune { return cp.table.DecodeByte(b) }
