package protocol

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestDecodePOSKeepsNoBytes pins what lets the POS socket reuse one read
// buffer for every message (register/ingest): nothing DecodePOS returns,
// message or error, refers to the bytes it was given. Each message is
// decoded, its bytes overwritten, and the result compared with a decode of
// an untouched copy; both paths (fast and precise) and errors are covered.
func TestDecodePOSKeepsNoBytes(t *testing.T) {
	msgs := append([]string(nil), fastCases...)
	golden, err := filepath.Glob(filepath.Join("testdata", "golden", "pos_*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range golden {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, string(b))
	}
	msgs = append(msgs,
		// The precise path: a key in another case, a duplicate key.
		`{"type":"cart","ID":"k-1","cart":{"register":"1","currency":"USD","state":"idle","subtotal":0,"discount":0,"total":0}}`,
		`{"type":"cart","id":"d-1","id":"d-2","cart":{"register":"1","currency":"USD","state":"idle","subtotal":0,"discount":0,"total":0}}`,
		// Errors that echo the id, a field name or a value.
		`{"type":"cart","id":"e-1","cart":{"register":"1","currency":"USD","state":"open","colour":"red"}}`,
		`{"type":"nonsense","id":"e-2"}`,
		`{"type":"refuse","id":"s-1","reason":"not_now","message":"Finish the payment first"}`,
	)
	for _, s := range msgs {
		data := []byte(s)
		got, gotErr := DecodePOS(data)
		for i := range data {
			data[i] = 'x'
		}
		want, wantErr := DecodePOS([]byte(s))
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
			t.Errorf("%s: after its bytes were overwritten got %+v, %v; want %+v, %v", s, got, gotErr, want, wantErr)
		}
	}
}
