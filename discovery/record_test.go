package discovery

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

const testFP = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func validRecord() Record {
	return Record{ProtocolVersion: ProtocolVersion, AgentID: "agent-7", RegisterID: "till_2", Name: "Till 2 – Café", Fingerprint: testFP}
}

func TestRecordRoundTrip(t *testing.T) {
	r := validRecord()
	txt, err := r.EncodeTXT()
	if err != nil {
		t.Fatalf("EncodeTXT: %v", err)
	}
	got, err := DecodeTXT(txt)
	if err != nil {
		t.Fatalf("DecodeTXT(%q): %v", txt, err)
	}
	if got != r {
		t.Errorf("DecodeTXT(EncodeTXT(r)) = %+v, want %+v", got, r)
	}
	if got, want := r.Instance(), "agent-7-till_2"; got != want {
		t.Errorf("Instance() = %q, want %q", got, want)
	}
}

func TestDecodeTXT(t *testing.T) {
	good, _ := validRecord().EncodeTXT()
	replace := func(key, val string) []string {
		out := slices.Clone(good)
		for i, s := range out {
			if strings.HasPrefix(s, key+"=") {
				out[i] = key + "=" + val
			}
		}
		return out
	}
	drop := func(key string) []string {
		return slices.DeleteFunc(slices.Clone(good), func(s string) bool { return strings.HasPrefix(s, key+"=") })
	}
	tests := []struct {
		name    string
		txt     []string
		wantErr error // nil: valid
	}{
		{"valid", good, nil},
		{"unknown keys ignored", append(slices.Clone(good), "future=1", "flag"), nil},
		{"keys case-insensitive", append([]string{"PV=1"}, drop("pv")...), nil},
		{"first occurrence wins", append(slices.Clone(good), "aid=!!bad!!"), nil},
		{"later bad duplicate of pv ignored", append(slices.Clone(good), "pv=x"), nil},
		{"empty", nil, ErrInvalidRecord},
		{"missing pv", drop("pv"), ErrInvalidRecord},
		{"missing aid", drop("aid"), ErrInvalidRecord},
		{"missing rid", drop("rid"), ErrInvalidRecord},
		{"missing name", drop("name"), ErrInvalidRecord},
		{"missing fp", drop("fp"), ErrInvalidRecord},
		{"pv not number", replace("pv", "one"), ErrInvalidRecord},
		{"pv negative", replace("pv", "-1"), ErrInvalidRecord},
		{"pv zero", replace("pv", "0"), ErrInvalidRecord},
		{"pv huge", replace("pv", "99999999999999999999"), ErrInvalidRecord},
		{"pv future", replace("pv", "2"), ErrUnsupportedVersion},
		{"aid with space", replace("aid", "a b"), ErrInvalidRecord},
		{"aid with dot", replace("aid", "a.b"), ErrInvalidRecord},
		{"aid empty", replace("aid", ""), ErrInvalidRecord},
		{"aid too long", replace("aid", strings.Repeat("a", MaxIDLen+1)), ErrInvalidRecord},
		{"rid unicode", replace("rid", "kassé"), ErrInvalidRecord},
		{"name empty", replace("name", ""), ErrInvalidRecord},
		{"name control char", replace("name", "Till\x1b[2J"), ErrInvalidRecord},
		{"name invalid utf8", replace("name", "Till\xff"), ErrInvalidRecord},
		{"name too long", replace("name", strings.Repeat("x", MaxNameLen+1)), ErrInvalidRecord},
		{"name padded", replace("name", " Till "), ErrInvalidRecord},
		{"fp uppercase", replace("fp", strings.ToUpper(testFP)), ErrInvalidRecord},
		{"fp short", replace("fp", testFP[:63]), ErrInvalidRecord},
		{"fp not hex", replace("fp", strings.Repeat("z", 64)), ErrInvalidRecord},
		{"too many strings", slices.Repeat([]string{"x=1"}, 100), ErrInvalidRecord},
		{"overlong string", append([]string{"x=" + strings.Repeat("a", 300)}, good...), ErrInvalidRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeTXT(tt.txt)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("DecodeTXT(%q) error: %v, want nil", tt.txt, err)
				}
				if got != validRecord() {
					t.Errorf("DecodeTXT(%q) = %+v, want %+v", tt.txt, got, validRecord())
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("DecodeTXT(%q) error = %v, want errors.Is %v", tt.txt, err, tt.wantErr)
			}
		})
	}
}

func TestDecodeTXTFutureVersion(t *testing.T) {
	r := validRecord()
	txt, _ := r.EncodeTXT()
	txt[0] = "pv=3"
	got, err := DecodeTXT(txt)
	ve, ok := errors.AsType[*VersionError](err)
	if !ok {
		t.Fatalf("DecodeTXT error = %v, want *VersionError", err)
	}
	if ve.Got != 3 {
		t.Errorf("VersionError.Got = %d, want 3", ve.Got)
	}
	if got.Name != r.Name {
		t.Errorf("record name with version error = %q, want %q (record still returned)", got.Name, r.Name)
	}
}

func TestEncodeTXTRejectsInvalid(t *testing.T) {
	r := validRecord()
	r.AgentID = "has space"
	if _, err := r.EncodeTXT(); !errors.Is(err, ErrInvalidRecord) {
		t.Errorf("EncodeTXT with bad agent id: error = %v, want ErrInvalidRecord", err)
	}
}

// FuzzDecodeTXT feeds arbitrary TXT strings (separated by '\n' in the input)
// to the decoder: it must never panic, and whatever it accepts must survive
// a round trip unchanged.
func FuzzDecodeTXT(f *testing.F) {
	good, _ := validRecord().EncodeTXT()
	f.Add(strings.Join(good, "\n"))
	f.Add("pv=1\naid=a\nrid=b\nname=x\nfp=" + testFP)
	f.Add("pv=2\naid=a\nrid=b\nname=x\nfp=" + testFP)
	f.Add("=\n==\nPV=1\npv=1")
	f.Fuzz(func(t *testing.T, in string) {
		txt := strings.Split(in, "\n")
		r, err := DecodeTXT(txt)
		if err != nil {
			if !errors.Is(err, ErrInvalidRecord) && !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("DecodeTXT error %v wraps neither ErrInvalidRecord nor ErrUnsupportedVersion", err)
			}
			return
		}
		enc, err := r.EncodeTXT()
		if err != nil {
			t.Fatalf("accepted record %+v does not encode: %v", r, err)
		}
		back, err := DecodeTXT(enc)
		if err != nil || back != r {
			t.Fatalf("round trip: got %+v, %v, want %+v", back, err, r)
		}
	})
}
