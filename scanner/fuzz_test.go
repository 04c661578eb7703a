package scanner

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/holoplot/go-evdev"
)

// Seed corpora live in testdata/fuzz/<FuzzName>.

func FuzzDecode(f *testing.F) {
	f.Add("]E04006381333931")
	f.Add("]C1010950110153000317250101\x1d10AB")
	f.Fuzz(func(t *testing.T, data string) {
		s := Decode(data)
		if s.Raw != data {
			t.Fatalf("Raw = %q, want input %q", s.Raw, data)
		}
		if !strings.HasSuffix(data, s.Code) || (len(data)-len(s.Code) != 0 && len(data)-len(s.Code) != 3) {
			t.Fatalf("Code %q is not the input %q minus a 3-byte AIM prefix", s.Code, data)
		}
		if s.AIM != data[:len(data)-len(s.Code)] {
			t.Fatalf("AIM %q + Code %q != input %q", s.AIM, s.Code, data)
		}
		switch s.Check {
		case CheckValid, CheckInvalid, CheckNotApplicable:
		default:
			t.Fatalf("Check = %q", s.Check)
		}
		if s.Symbology == "" {
			t.Fatal("empty symbology")
		}
		if len(s.GS1) > 0 && s.GS1Error != "" {
			t.Fatalf("both GS1 %v and GS1Error %q", s.GS1, s.GS1Error)
		}
	})
}

// encodeGS1 writes elements in transmitted form, GS after every
// variable-length field but the last.
func encodeGS1(els []GS1Element) string {
	var b strings.Builder
	for i, e := range els {
		b.WriteString(e.AI + e.Value)
		_, d, _ := lookupAI(e.AI)
		if d.min != d.max && i < len(els)-1 {
			b.WriteByte(gs1GS)
		}
	}
	return b.String()
}

func FuzzParseGS1(f *testing.F) {
	f.Add("0109501101530003" + "17250101" + "10AB\x1d21XY")
	f.Add("(00)106141411234567897(3103)000750")
	f.Fuzz(func(t *testing.T, data string) {
		els, err := ParseGS1(data)
		if err != nil {
			if len(els) != 0 {
				t.Fatalf("error %v with elements %v", err, els)
			}
			return
		}
		if len(els) == 0 {
			t.Fatal("no error and no elements")
		}
		// Round trip through the transmitted form.
		again, err := ParseGS1(encodeGS1(els))
		if err != nil || !reflect.DeepEqual(again, els) {
			t.Fatalf("re-parse of %q = %v, %v, want %v", encodeGS1(els), again, err, els)
		}
		gs1Check(els)
	})
}

func FuzzGTIN(f *testing.F) {
	f.Add("400638133393")
	f.Add("0123456")
	f.Fuzz(func(t *testing.T, body string) {
		if !isDigits(body) {
			if gtinCheckOK(body) {
				t.Fatalf("gtinCheckOK(%q) = true for non-digits", body)
			}
			return
		}
		full := body + string(gtinCheckDigit(body))
		if !gtinCheckOK(full) {
			t.Fatalf("gtinCheckOK(%q) = false for computed check digit", full)
		}
		wrong := body + string('0'+(gtinCheckDigit(body)-'0'+1)%10)
		if gtinCheckOK(wrong) {
			t.Fatalf("gtinCheckOK(%q) = true for wrong check digit", wrong)
		}
		if a, ok := expandUPCE(body); ok {
			if len(a) != 12 || !isDigits(a) || a[0] != body[0] || a[11] != body[7] {
				t.Fatalf("expandUPCE(%q) = %q", body, a)
			}
		}
		sym, check := gtinResult("", body)
		if sym == "" || check == "" {
			t.Fatalf("gtinResult(%q) = %q, %q", body, sym, check)
		}
	})
}

// FuzzKeyDecoder feeds arbitrary key events: 4 bytes each (code, value,
// gap in ms, flags) into every layout.
func FuzzKeyDecoder(f *testing.F) {
	f.Add([]byte{byte(evdev.KEY_LEFTSHIFT), 1, 2, 0, byte(evdev.KEY_H), 1, 2, 0, byte(evdev.KEY_H), 0, 2, 0,
		byte(evdev.KEY_LEFTSHIFT), 0, 2, 0, byte(evdev.KEY_1), 1, 2, 0, byte(evdev.KEY_ENTER), 1, 2, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range LayoutNames() {
			h := Config{Kind: KindHID, HID: HIDConfig{Layout: name}}.WithDefaults().HID
			d := newKeyDecoder(h, nil)
			at := time.Unix(1_700_000_000, 0)
			for i := 0; i+4 <= len(data); i += 4 {
				at = at.Add(time.Duration(data[i+2]) * time.Millisecond)
				typ := evdev.EvType(evdev.EV_KEY)
				if data[i+3]&1 != 0 {
					typ = evdev.EV_SYN
				}
				ev := evdev.InputEvent{Time: syscall.NsecToTimeval(at.UnixNano()), Type: typ,
					Code: evdev.EvCode(data[i]) | evdev.EvCode(data[i+3]&0xf0)<<4, Value: int32(data[i+1] % 4)}
				d.feed(&ev, func(k keyFrame) {
					if k.Reason == "" && (k.Data == "" || k.Len > DefaultMaxLength) {
						t.Fatalf("bad scan %+v", k)
					}
					if k.Reason != "" && k.Data != "" {
						t.Fatalf("discard carries data %+v", k)
					}
				})
			}
		}
	})
}

// FuzzFramer checks that framing does not depend on how reads split the
// stream, and that frames never contain their terminator.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("]E04006381333931\r\n"), uint8(0), uint8(3))
	f.Add([]byte("a\rb\r\nc\n"), uint8(3), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, mode, split uint8) {
		modes := []string{TerminatorAny, TerminatorCR, TerminatorLF, TerminatorCRLF}
		s := Config{Kind: KindSerial, Serial: SerialConfig{Terminator: modes[int(mode)%len(modes)], MaxLength: 64}}.WithDefaults().Serial
		now := time.Unix(1000, 0)
		run := func(chunk int) (frames []string) {
			fr := newFramer(s)
			out := func(b []byte, _ time.Time) { frames = append(frames, string(b)) }
			for p := data; len(p) > 0; {
				n := min(chunk, len(p))
				fr.feed(p[:n], now, out)
				p = p[n:]
			}
			return frames
		}
		whole := run(len(data) + 1)
		pieces := run(int(split)%8 + 1)
		if !slices.Equal(whole, pieces) {
			t.Fatalf("frames differ by chunking: whole %q, chunks of %d %q", whole, int(split)%8+1, pieces)
		}
		for _, fr := range whole {
			if fr == "" || len(fr) > s.MaxLength {
				t.Fatalf("bad frame length %d", len(fr))
			}
			switch s.Terminator {
			case TerminatorAny:
				if strings.ContainsAny(fr, "\r\n") {
					t.Fatalf("frame %q contains a terminator", fr)
				}
			case TerminatorCRLF:
				if strings.Contains(fr, "\r\n") {
					t.Fatalf("frame %q contains CRLF", fr)
				}
			default:
				if bytes.IndexByte([]byte(fr), byte(map[string]byte{TerminatorCR: '\r', TerminatorLF: '\n'}[s.Terminator])) >= 0 {
					t.Fatalf("frame %q contains its terminator", fr)
				}
			}
		}
	})
}

func FuzzParseInputDevices(f *testing.F) {
	f.Add([]byte("I: Bus=0003 Vendor=05e0 Product=1200\nN: Name=\"Scanner\"\nH: Handlers=kbd event7\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		devs, err := parseInputDevices(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, d := range devs {
			if d.Event != "" && (!strings.HasPrefix(d.Event, "/dev/input/event") || strings.ContainsAny(d.Event[len("/dev/input/"):], "/.")) {
				t.Fatalf("event path %q escapes /dev/input", d.Event)
			}
		}
	})
}

func FuzzSplitAIM(f *testing.F) {
	f.Add("]E04006381333931")
	f.Fuzz(func(t *testing.T, data string) {
		aim, sym, rest := splitAIM(data)
		if aim+rest != data {
			t.Fatalf("splitAIM(%q) = %q + %q, want the input back", data, aim, rest)
		}
		if (aim == "") != (sym == "") || (aim != "" && (len(aim) != 3 || aim[0] != ']')) {
			t.Fatalf("splitAIM(%q) = aim %q sym %q", data, aim, sym)
		}
	})
}
