package discovery

import (
	"errors"
	"strings"
)

// The zeroconf library hands TXT strings to and from github.com/miekg/dns
// in DNS presentation format: on receive, '"' and '\' come back as \" and
// \\ and bytes outside printable ASCII (all UTF-8 beyond ASCII) as \DDD; on
// send, a '\' starts an escape. These two functions convert between that
// form and the raw bytes our Record codec works with, so that a name like
// "Till 2 – Café" (or one containing a backslash) survives the trip.

// escapeTXT converts raw TXT bytes to the form zeroconf sends verbatim.
func escapeTXT(raw []string) []string {
	out := make([]string, len(raw))
	for i, s := range raw {
		out[i] = strings.ReplaceAll(s, `\`, `\\`)
	}
	return out
}

var errBadEscape = errors.New("bad escape in TXT string")

// unescapeTXT converts a received TXT string back to raw bytes.
func unescapeTXT(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			return "", errBadEscape
		}
		if isDigit(s[i]) {
			if i+2 >= len(s) || !isDigit(s[i+1]) || !isDigit(s[i+2]) {
				return "", errBadEscape
			}
			v := int(s[i]-'0')*100 + int(s[i+1]-'0')*10 + int(s[i+2]-'0')
			if v > 255 {
				return "", errBadEscape
			}
			b.WriteByte(byte(v))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// decodeWireTXT unescapes and decodes TXT strings received via zeroconf.
func decodeWireTXT(txt []string) (Record, error) {
	if len(txt) > maxTXTStrings {
		return Record{}, errTooManyStrings(len(txt))
	}
	raw := make([]string, len(txt))
	for i, s := range txt {
		r, err := unescapeTXT(s)
		if err != nil {
			return Record{}, wrapInvalid(err)
		}
		raw[i] = r
	}
	return DecodeTXT(raw)
}
