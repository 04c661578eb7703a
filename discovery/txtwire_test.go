package discovery

import (
	"errors"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestTXTThroughMiekg sends TXT strings through the same DNS library
// zeroconf uses, packing what escapeTXT produces and unescaping what the
// unpacker returns.
func TestTXTThroughMiekg(t *testing.T) {
	tests := []string{"name=Till 2", "name=Till 2 – Café", `name=back\slash "quoted"`, "name=\\123", "x=\x00\x01\xff"}
	for _, raw := range tests {
		rr := &dns.TXT{Hdr: dns.RR_Header{Name: "a.local.", Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 1}, Txt: escapeTXT([]string{raw})}
		buf := make([]byte, 2048)
		n, err := dns.PackRR(rr, buf, 0, nil, false)
		if err != nil {
			t.Fatalf("PackRR(%q): %v", raw, err)
		}
		back, _, err := dns.UnpackRR(buf[:n], 0)
		if err != nil {
			t.Fatalf("UnpackRR: %v", err)
		}
		got, err := unescapeTXT(back.(*dns.TXT).Txt[0])
		if err != nil {
			t.Fatalf("unescapeTXT(%q): %v", back.(*dns.TXT).Txt[0], err)
		}
		if got != raw {
			t.Errorf("round trip = %q, want %q", got, raw)
		}
	}
}

func TestUnescapeTXTBad(t *testing.T) {
	for _, s := range []string{`a\`, `\1`, `\12`, `\999`, `\25a`} {
		if _, err := unescapeTXT(s); !errors.Is(err, errBadEscape) {
			t.Errorf("unescapeTXT(%q) error = %v, want errBadEscape", s, err)
		}
	}
}

// FuzzUnescapeTXT checks that unescaping never panics and inverts the
// escaping miekg/dns applies on unpack.
func FuzzUnescapeTXT(f *testing.F) {
	f.Add(`name=Till\ 2`)
	f.Add(`\195\169\\\"`)
	f.Add(`\`)
	f.Fuzz(func(t *testing.T, s string) {
		unescapeTXT(s)
		if len(s) > 255 {
			return
		}
		var b strings.Builder
		for i := 0; i < len(s); i++ { // what miekg/dns produces for raw bytes s
			c := s[i]
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c < ' ' || c > '~':
				b.WriteString("\\" + string(rune('0'+c/100)) + string(rune('0'+c/10%10)) + string(rune('0'+c%10)))
			default:
				b.WriteByte(c)
			}
		}
		got, err := unescapeTXT(b.String())
		if err != nil || got != s {
			t.Fatalf("unescapeTXT(%q) = %q, %v, want %q", b.String(), got, err, s)
		}
	})
}
