package protocol

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/posdisplay/posdisplay/register/textclip"
)

// checkRawText checks every string (keys and values) of a JSON document,
// already known to be syntactically valid, on its raw bytes: each must be
// valid UTF-8, and each \u escape must not leave half of a UTF-16
// surrogate pair alone. encoding/json silently replaces both with U+FFFD,
// so a check after decoding would store "Caf\uFFFD au lait" for a Latin-1
// "Caf\xe9 au lait" instead of rejecting it, as the protocol says.
//
// The error names the path of the offending string ("cart.lines[2].title").
// The common case, valid UTF-8 without surrogate escapes, costs one pass of
// utf8.Valid.
func checkRawText(data []byte) *decodeError {
	if utf8.Valid(data) && !hasSurrogateEscape(data) {
		return nil
	}
	type frame struct {
		array bool
		index int
		key   string
	}
	var stack []frame
	path := func() string {
		var b []byte
		for _, f := range stack {
			if f.array {
				b = append(b, '[')
				b = strconv.AppendInt(b, int64(f.index), 10)
				b = append(b, ']')
				continue
			}
			if len(b) > 0 {
				b = append(b, '.')
			}
			b = append(b, f.key...)
		}
		return string(b)
	}
	expectKey := false
	for i := 0; i < len(data); {
		switch data[i] {
		case '{':
			stack = append(stack, frame{})
			expectKey = true
			i++
		case '[':
			stack = append(stack, frame{array: true})
			i++
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			expectKey = false
			i++
		case ',':
			if n := len(stack); n > 0 {
				if stack[n-1].array {
					stack[n-1].index++
				} else {
					expectKey = true
				}
			}
			i++
		case '"':
			end, reason := scanRawString(data, i)
			if expectKey && len(stack) > 0 {
				expectKey = false
				var key string
				_ = json.Unmarshal(data[i:end], &key)
				stack[len(stack)-1].key = textclip.Runes(key, 64)
			}
			if reason != "" {
				return &decodeError{field: path(), reason: reason}
			}
			i = end
		default:
			i++
		}
	}
	return nil
}

// scanRawString scans the JSON string starting at data[start] (a quote) and
// returns the index after its closing quote, and why it is not valid text
// ("" when it is).
func scanRawString(data []byte, start int) (end int, reason string) {
	for i := start + 1; i < len(data); {
		c := data[i]
		switch {
		case c == '"':
			return i + 1, reason
		case c == '\\':
			if i+1 < len(data) && data[i+1] == 'u' {
				r := hex4(data, i+2)
				switch {
				case utf16.IsSurrogate(r) && r < 0xDC00: // high half: a low half must follow
					if i+7 < len(data) && data[i+6] == '\\' && data[i+7] == 'u' {
						if lo := hex4(data, i+8); lo >= 0xDC00 && lo <= 0xDFFF {
							i += 12
							continue
						}
					}
					reason = "must be valid UTF-8 (unpaired surrogate escape)"
				case utf16.IsSurrogate(r):
					reason = "must be valid UTF-8 (unpaired surrogate escape)"
				}
				i += 6
				continue
			}
			i += 2
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				reason = "must be valid UTF-8"
			}
			i += size
		}
	}
	return len(data), reason
}

// hex4 decodes the four hex digits at data[i:i+4], or returns -1.
func hex4(data []byte, i int) rune {
	if i+4 > len(data) {
		return -1
	}
	v, err := strconv.ParseUint(string(data[i:i+4]), 16, 16)
	if err != nil {
		return -1
	}
	return rune(v)
}

// hasSurrogateEscape reports whether data may hold a \u escape of a UTF-16
// surrogate (\uD800 to \uDFFF). A false positive (an escaped backslash
// followed by "uD8") only sends the input through the precise check.
func hasSurrogateEscape(data []byte) bool {
	for {
		i := bytes.Index(data, []byte(`\u`))
		if i < 0 || i+3 >= len(data) {
			return false
		}
		if c, d := data[i+2], data[i+3]; (c == 'd' || c == 'D') && (d >= '8' && d <= '9' || d >= 'a' && d <= 'f' || d >= 'A' && d <= 'F') {
			return true
		}
		data = data[i+2:]
	}
}
