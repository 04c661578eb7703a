package scanner

import (
	"slices"
	"unicode"

	"github.com/holoplot/go-evdev"
)

// keyLevels holds what one key types at each level: plain, Shift, AltGr,
// AltGr+Shift. A zero rune means the key types nothing at that level.
type keyLevels [4]rune

// layout maps evdev key codes to characters for one keyboard layout.
type layout struct {
	keys map[evdev.EvCode]keyLevels
}

// keyDef is one row of a layout table: a key and the characters it types,
// in level order (plain, Shift, AltGr, AltGr+Shift).
type keyDef struct {
	code  evdev.EvCode
	chars string
}

// letters is the QWERTY letter block shared by US and UK; DE and FR patch it.
var letterKeys = []struct {
	code evdev.EvCode
	c    rune
}{
	{evdev.KEY_Q, 'q'}, {evdev.KEY_W, 'w'}, {evdev.KEY_E, 'e'}, {evdev.KEY_R, 'r'}, {evdev.KEY_T, 't'},
	{evdev.KEY_Y, 'y'}, {evdev.KEY_U, 'u'}, {evdev.KEY_I, 'i'}, {evdev.KEY_O, 'o'}, {evdev.KEY_P, 'p'},
	{evdev.KEY_A, 'a'}, {evdev.KEY_S, 's'}, {evdev.KEY_D, 'd'}, {evdev.KEY_F, 'f'}, {evdev.KEY_G, 'g'},
	{evdev.KEY_H, 'h'}, {evdev.KEY_J, 'j'}, {evdev.KEY_K, 'k'}, {evdev.KEY_L, 'l'},
	{evdev.KEY_Z, 'z'}, {evdev.KEY_X, 'x'}, {evdev.KEY_C, 'c'}, {evdev.KEY_V, 'v'}, {evdev.KEY_B, 'b'},
	{evdev.KEY_N, 'n'}, {evdev.KEY_M, 'm'},
}

// keypad keys type the same on every layout. Scanners that send keypad
// digits do so with NumLock semantics, so NumLock is assumed on.
var keypadKeys = []keyDef{
	{evdev.KEY_KP0, "0"}, {evdev.KEY_KP1, "1"}, {evdev.KEY_KP2, "2"}, {evdev.KEY_KP3, "3"},
	{evdev.KEY_KP4, "4"}, {evdev.KEY_KP5, "5"}, {evdev.KEY_KP6, "6"}, {evdev.KEY_KP7, "7"},
	{evdev.KEY_KP8, "8"}, {evdev.KEY_KP9, "9"}, {evdev.KEY_KPDOT, "."}, {evdev.KEY_KPSLASH, "/"},
	{evdev.KEY_KPASTERISK, "*"}, {evdev.KEY_KPMINUS, "-"}, {evdev.KEY_KPPLUS, "+"},
	{evdev.KEY_SPACE, "  "},
}

// Layout tables follow the Linux xkb layouts "us", "gb", "de" and "fr"
// (levels 1-4). Dead keys (DE ^ ´ `, FR ^ ¨) type their own character:
// scanners never compose accents.
var (
	usKeys = []keyDef{
		{evdev.KEY_GRAVE, "`~"}, {evdev.KEY_1, "1!"}, {evdev.KEY_2, "2@"}, {evdev.KEY_3, "3#"},
		{evdev.KEY_4, "4$"}, {evdev.KEY_5, "5%"}, {evdev.KEY_6, "6^"}, {evdev.KEY_7, "7&"},
		{evdev.KEY_8, "8*"}, {evdev.KEY_9, "9("}, {evdev.KEY_0, "0)"}, {evdev.KEY_MINUS, "-_"},
		{evdev.KEY_EQUAL, "=+"}, {evdev.KEY_LEFTBRACE, "[{"}, {evdev.KEY_RIGHTBRACE, "]}"},
		{evdev.KEY_BACKSLASH, `\|`}, {evdev.KEY_SEMICOLON, ";:"}, {evdev.KEY_APOSTROPHE, `'"`},
		{evdev.KEY_COMMA, ",<"}, {evdev.KEY_DOT, ".>"}, {evdev.KEY_SLASH, "/?"}, {evdev.KEY_102ND, `\|`},
	}
	ukKeys = []keyDef{
		{evdev.KEY_GRAVE, "`¬¦"}, {evdev.KEY_1, "1!"}, {evdev.KEY_2, `2"`}, {evdev.KEY_3, "3£"},
		{evdev.KEY_4, "4$€"}, {evdev.KEY_5, "5%"}, {evdev.KEY_6, "6^"}, {evdev.KEY_7, "7&"},
		{evdev.KEY_8, "8*"}, {evdev.KEY_9, "9("}, {evdev.KEY_0, "0)"}, {evdev.KEY_MINUS, "-_"},
		{evdev.KEY_EQUAL, "=+"}, {evdev.KEY_LEFTBRACE, "[{"}, {evdev.KEY_RIGHTBRACE, "]}"},
		{evdev.KEY_BACKSLASH, "#~"}, {evdev.KEY_SEMICOLON, ";:"}, {evdev.KEY_APOSTROPHE, "'@"},
		{evdev.KEY_COMMA, ",<"}, {evdev.KEY_DOT, ".>"}, {evdev.KEY_SLASH, "/?"}, {evdev.KEY_102ND, `\|`},
	}
	deKeys = []keyDef{
		{evdev.KEY_GRAVE, "^°"}, {evdev.KEY_1, "1!¹"}, {evdev.KEY_2, `2"²`}, {evdev.KEY_3, "3§³"},
		{evdev.KEY_4, "4$¼"}, {evdev.KEY_5, "5%½"}, {evdev.KEY_6, "6&¬"}, {evdev.KEY_7, "7/{"},
		{evdev.KEY_8, "8(["}, {evdev.KEY_9, "9)]"}, {evdev.KEY_0, "0=}"}, {evdev.KEY_MINUS, `ß?\`},
		{evdev.KEY_EQUAL, "´`"}, {evdev.KEY_LEFTBRACE, "üÜ"}, {evdev.KEY_RIGHTBRACE, "+*~"},
		{evdev.KEY_BACKSLASH, "#'"}, {evdev.KEY_SEMICOLON, "öÖ"}, {evdev.KEY_APOSTROPHE, "äÄ"},
		{evdev.KEY_COMMA, ",;"}, {evdev.KEY_DOT, ".:"}, {evdev.KEY_SLASH, "-_"}, {evdev.KEY_102ND, "<>|"},
		{evdev.KEY_Y, "zZ"}, {evdev.KEY_Z, "yY"}, {evdev.KEY_Q, "qQ@"}, {evdev.KEY_E, "eE€"},
		{evdev.KEY_M, "mMµ"},
	}
	frKeys = []keyDef{
		{evdev.KEY_GRAVE, "²"}, {evdev.KEY_1, "&1"}, {evdev.KEY_2, "é2~"}, {evdev.KEY_3, `"3#`},
		{evdev.KEY_4, "'4{"}, {evdev.KEY_5, "(5["}, {evdev.KEY_6, "-6|"}, {evdev.KEY_7, "è7`"},
		{evdev.KEY_8, `_8\`}, {evdev.KEY_9, "ç9^"}, {evdev.KEY_0, "à0@"}, {evdev.KEY_MINUS, ")°]"},
		{evdev.KEY_EQUAL, "=+}"}, {evdev.KEY_LEFTBRACE, "^¨"}, {evdev.KEY_RIGHTBRACE, "$£¤"},
		{evdev.KEY_BACKSLASH, "*µ"}, {evdev.KEY_SEMICOLON, "mM"}, {evdev.KEY_APOSTROPHE, "ù%"},
		{evdev.KEY_M, ",?"}, {evdev.KEY_COMMA, ";."}, {evdev.KEY_DOT, ":/"}, {evdev.KEY_SLASH, "!§"},
		{evdev.KEY_102ND, "<>"},
		{evdev.KEY_Q, "aA"}, {evdev.KEY_A, "qQ"}, {evdev.KEY_W, "zZ"}, {evdev.KEY_Z, "wW"},
		{evdev.KEY_E, "eE€"},
	}
)

// layouts are selectable by HIDConfig.Layout.
var layouts = map[string]*layout{
	"us": buildLayout(usKeys),
	"uk": buildLayout(ukKeys),
	"de": buildLayout(deKeys),
	"fr": buildLayout(frKeys),
}

// LayoutNames lists the selectable keyboard layouts, sorted.
func LayoutNames() []string {
	var names []string
	for n := range layouts {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// buildLayout starts from the QWERTY letters and the keypad, then applies
// the layout's own rows (which may move letters, as DE and FR do).
func buildLayout(rows []keyDef) *layout {
	l := &layout{keys: map[evdev.EvCode]keyLevels{}}
	for _, k := range letterKeys {
		l.keys[k.code] = keyLevels{k.c, unicode.ToUpper(k.c)}
	}
	for _, rows := range [][]keyDef{keypadKeys, rows} {
		for _, r := range rows {
			var lv keyLevels
			copy(lv[:], []rune(r.chars))
			l.keys[r.code] = lv
		}
	}
	return l
}

// char returns what code types with the given modifiers, or 0. CapsLock
// acts as Shift only on keys whose first two levels are a lower/upper
// case pair (xkb's ALPHABETIC type), so it never changes digits or the FR
// number row.
func (l *layout) char(code evdev.EvCode, shift, caps, altgr bool) rune {
	lv, ok := l.keys[code]
	if !ok {
		return 0
	}
	if caps && lv[1] != 0 && unicode.IsLower(lv[0]) && unicode.ToUpper(lv[0]) == lv[1] {
		shift = !shift
	}
	i := 0
	if shift {
		i = 1
	}
	if altgr {
		i += 2
	}
	return lv[i]
}
