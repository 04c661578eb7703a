// Package jsonw appends JSON to byte slices without reflection, for the
// agent's hot path: the delta of every accepted change is encoded once, and
// encoding/json's Marshal spent most of its time (and a third of a change's
// allocations) looking up type encoders and compacting the output of
// MarshalJSON methods. What it writes is byte for byte what encoding/json
// writes for the same values (its tests hold it to that), so the wire format
// does not change.
package jsonw

import (
	"strconv"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// AppendString appends s as a JSON string, escaped as encoding/json escapes
// it by default: control characters, '"' and '\\', the HTML characters '<',
// '>' and '&', U+2028 and U+2029, and each byte of invalid UTF-8 as U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendField appends "name": after a '{' or a previous value: a comma
// first unless dst ends with '{'. name must need no escaping.
func AppendField(dst []byte, name string) []byte {
	if len(dst) > 0 && dst[len(dst)-1] != '{' {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, name...)
	return append(dst, '"', ':')
}

// AppendStringField appends "name":"value".
func AppendStringField(dst []byte, name, value string) []byte {
	return AppendString(AppendField(dst, name), value)
}

// AppendIntField appends "name":value.
func AppendIntField(dst []byte, name string, value int64) []byte {
	return strconv.AppendInt(AppendField(dst, name), value, 10)
}

// AppendUintField appends "name":value.
func AppendUintField(dst []byte, name string, value uint64) []byte {
	return strconv.AppendUint(AppendField(dst, name), value, 10)
}
