package scanner

import (
	"errors"
	"reflect"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		code     string
		aim      string
		sym      string
		check    string
		inferred bool
		gs1      []GS1Element
		gs1Err   bool
	}{
		{name: "ean13 aim", in: "]E04006381333931", code: "4006381333931", aim: "]E0", sym: SymbologyEAN13, check: CheckValid},
		{name: "ean13 bad check", in: "]E04006381333932", code: "4006381333932", aim: "]E0", sym: SymbologyEAN13, check: CheckInvalid},
		{name: "ean13 no aim", in: "5901234123457", code: "5901234123457", sym: SymbologyEAN13, check: CheckValid, inferred: true},
		{name: "ean8 aim", in: "]E496385074", code: "96385074", aim: "]E4", sym: SymbologyEAN8, check: CheckValid},
		{name: "ean8 no aim", in: "96385074", code: "96385074", sym: SymbologyEAN8, check: CheckValid, inferred: true},
		{name: "upca aim", in: "]E0036000291452", code: "036000291452", aim: "]E0", sym: SymbologyUPCA, check: CheckValid},
		{name: "upca no aim bad", in: "036000291453", code: "036000291453", sym: SymbologyUPCA, check: CheckInvalid, inferred: true},
		{name: "upce aim", in: "]E001234565", code: "01234565", aim: "]E0", sym: SymbologyUPCE, check: CheckValid},
		{name: "upce aim bad", in: "]E001234566", code: "01234566", aim: "]E0", sym: SymbologyUPCE, check: CheckInvalid},
		{name: "upce no aim", in: "04252614", code: "04252614", sym: SymbologyUPCE, check: CheckValid, inferred: true},
		{name: "ean13 addon2", in: "]E1400638133393112", code: "400638133393112", aim: "]E1", sym: SymbologyEAN13, check: CheckValid},
		{name: "code128", in: "]C0ABC-123", code: "ABC-123", aim: "]C0", sym: SymbologyCode128, check: CheckNotApplicable},
		{name: "code39", in: "]A0HA112", code: "HA112", aim: "]A0", sym: SymbologyCode39, check: CheckNotApplicable},
		{name: "qr", in: "]Q1https://example.com/x", code: "https://example.com/x", aim: "]Q1", sym: SymbologyQR, check: CheckNotApplicable},
		{name: "datamatrix", in: "]d1hello", code: "hello", aim: "]d1", sym: SymbologyDataMatrix, check: CheckNotApplicable},
		{
			name: "gs1-128", in: "]C1010950110153000317250101" + "10ABC123\x1d21XYZ",
			code: "010950110153000317250101" + "10ABC123\x1d21XYZ", aim: "]C1", sym: SymbologyGS1128, check: CheckValid,
			gs1: []GS1Element{{"01", "09501101530003"}, {"17", "250101"}, {"10", "ABC123"}, {"21", "XYZ"}},
		},
		{
			name: "gs1 datamatrix leading GS and weight", in: "]d2\x1d0109501101530003" + "3103000750",
			code: "\x1d0109501101530003" + "3103000750", aim: "]d2", sym: SymbologyGS1DataMatrix, check: CheckValid,
			gs1: []GS1Element{{"01", "09501101530003"}, {"3103", "000750"}},
		},
		{
			name: "gs1 sscc bad check", in: "]C100106141411234567890",
			code: "00106141411234567890", aim: "]C1", sym: SymbologyGS1128, check: CheckInvalid,
			gs1: []GS1Element{{"00", "106141411234567890"}},
		},
		{
			name: "gs1 broken", in: "]C101123", code: "01123", aim: "]C1", sym: SymbologyGS1128, check: CheckNotApplicable, gs1Err: true,
		},
		{
			name: "hri no aim", in: "(01)09501101530003(10)AB(37)12", code: "(01)09501101530003(10)AB(37)12",
			sym: SymbologyUnknown, check: CheckValid,
			gs1: []GS1Element{{"01", "09501101530003"}, {"10", "AB"}, {"37", "12"}},
		},
		{name: "unknown aim letter kept", in: "]Y0abc", code: "]Y0abc", sym: SymbologyUnknown, check: CheckNotApplicable},
		{name: "other aim split", in: "]X0payload", code: "payload", aim: "]X0", sym: SymbologyUnknown, check: CheckNotApplicable},
		{name: "itf", in: "]I012345678901231", code: "12345678901231", aim: "]I0", sym: SymbologyITF, check: CheckNotApplicable},
		{name: "plain text", in: "HA112", code: "HA112", sym: SymbologyUnknown, check: CheckNotApplicable},
		{name: "empty", in: "", code: "", sym: SymbologyUnknown, check: CheckNotApplicable},
		{name: "aim only", in: "]E0", code: "", aim: "]E0", sym: SymbologyEAN13, check: CheckInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decode(tt.in)
			if got.Code != tt.code || got.Raw != tt.in || got.AIM != tt.aim || got.Symbology != tt.sym ||
				got.Check != tt.check || got.SymbologyInferred != tt.inferred {
				t.Errorf("Decode(%q) = code %q raw %q aim %q sym %q check %q inferred %v, want code %q raw %q aim %q sym %q check %q inferred %v",
					tt.in, got.Code, got.Raw, got.AIM, got.Symbology, got.Check, got.SymbologyInferred,
					tt.code, tt.in, tt.aim, tt.sym, tt.check, tt.inferred)
			}
			if !reflect.DeepEqual(got.GS1, tt.gs1) {
				t.Errorf("Decode(%q).GS1 = %v, want %v", tt.in, got.GS1, tt.gs1)
			}
			if (got.GS1Error != "") != tt.gs1Err {
				t.Errorf("Decode(%q).GS1Error = %q, want error %v", tt.in, got.GS1Error, tt.gs1Err)
			}
		})
	}
}

func TestExpandUPCE(t *testing.T) {
	tests := []struct{ in, want string }{
		{"01234565", "012345000065"},
		{"04252614", "042100005264"},
		{"01234133", "012300000413"},
		{"01234404", "012000003444"},
		{"01234577", "012345000077"},
	}
	for _, tt := range tests {
		got, ok := expandUPCE(tt.in)
		if !ok || got != tt.want {
			t.Errorf("expandUPCE(%q) = %q, %v, want %q, true", tt.in, got, ok, tt.want)
		}
	}
	if got, ok := expandUPCE("21234565"); ok {
		t.Errorf("expandUPCE(number system 2) = %q, true, want false", got)
	}
}

func TestParseGS1Errors(t *testing.T) {
	tests := []string{
		"",
		"\x1d",
		"99",                           // AI without data
		"0112345",                      // fixed field too short
		"17251301",                     // month 13
		"10" + "ABCDEFGHIJKLMNOPQRSTU", // 21 > 20
		"3103ABCDEF",                   // non-numeric measure
		"(01)123",                      // HRI length
		"(01",                          // unclosed
		"(5)1",                         // short AI
		"14123456",                     // unknown AI
		"10AB\x01",                     // control byte
		"(0100)09501101530003",
	}
	for _, in := range tests {
		if got, err := ParseGS1(in); !errors.Is(err, ErrGS1) {
			t.Errorf("ParseGS1(%q) = %v, %v, want error wrapping ErrGS1", in, got, err)
		}
	}
}
