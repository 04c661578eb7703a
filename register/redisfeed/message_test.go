package redisfeed

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/posdisplay/posdisplay/register/protocol"
)

// FuzzDecodeEntry: whatever a backend (or anyone with write access to the
// stream) XADDs, decoding never panics, and what it accepts is a cart or a
// clear with a valid cart.
func FuzzDecodeEntry(f *testing.F) {
	for _, name := range []string{"entry_cart", "entry_clear", "result_ack", "scan"} {
		data, err := os.ReadFile(filepath.Join("testdata", "golden", name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(FieldMsg, string(data), "")
	}
	f.Add(FieldMsg, `{"type":"clear"}`, "trace")
	f.Add("cart", `{}`, "")
	f.Fuzz(func(t *testing.T, field, value, extra string) {
		values := map[string]any{field: value}
		if extra != "" {
			values[extra] = "1"
		}
		m, perr := decodeEntry(values, 64<<10, nil)
		if perr != nil {
			if perr.Code == "" {
				t.Fatalf("error without a code: %+v", perr)
			}
			return
		}
		switch m.Type {
		case protocol.TypeClear:
		case protocol.TypeCart:
			if err := m.Cart.Validate(); err != nil {
				t.Fatalf("accepted an invalid cart: %v", err)
			}
		default:
			t.Fatalf("accepted a %q message", m.Type)
		}
	})
}

func TestEntryIDs(t *testing.T) {
	for _, tc := range []struct {
		a, b  string
		after bool
	}{
		{"2-0", "1-9", true}, {"1-10", "1-9", true}, {"1-9", "1-9", false}, {"0-0", "0-1", false},
	} {
		a, okA := parseID(tc.a)
		b, okB := parseID(tc.b)
		if !okA || !okB || a.after(b) != tc.after {
			t.Errorf("%s after %s: got %v, want %v", tc.a, tc.b, a.after(b), tc.after)
		}
	}
	if _, ok := parseID("1700000000000"); ok {
		t.Error("an id without a sequence parsed")
	}
}
