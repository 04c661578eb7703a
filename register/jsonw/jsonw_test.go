package jsonw_test

import (
	"encoding/json"
	"testing"

	"github.com/posdisplay/posdisplay/register/jsonw"
)

// FuzzAppendStringMatchesMarshal holds AppendString to encoding/json's
// output for every string, valid UTF-8 or not.
func FuzzAppendStringMatchesMarshal(f *testing.F) {
	for _, s := range []string{"", "plain", `"quoted" \ back`, "<a href='x'>&amp;</a>", "\b\f\n\r\t\x00\x1f\x7f",
		"caf\u00e9 \u20ac \U0001F600", "\u2028\u2029", "bad \xff\xfe utf8 \xe2\x82", "\xed\xa0\x80 surrogate"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonw.AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func TestFields(t *testing.T) {
	b := []byte{'{'}
	b = jsonw.AppendStringField(b, "type", "delta")
	b = jsonw.AppendIntField(b, "index", -3)
	b = jsonw.AppendUintField(b, "seq", 18446744073709551615)
	b = append(b, '}')
	if want := `{"type":"delta","index":-3,"seq":18446744073709551615}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
}
