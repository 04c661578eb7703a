package protocol_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// goldenMessages reads every golden file matching pattern (at least min of
// them) into a fresh *T each, and returns the values with their bytes
// compacted, as an encoder writes them.
func goldenMessages[T any](t *testing.T, pattern string, min int) (vals []*T, compact [][]byte, names []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata/golden", pattern))
	if err != nil || len(files) < min {
		t.Fatalf("golden %s: %d files, %v; want at least %d", pattern, len(files), err, min)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		v := new(T)
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		vals, compact, names = append(vals, v), append(compact, buf.Bytes()), append(names, name)
	}
	return vals, compact, names
}

// TestAppendDeltaMatchesMarshal encodes each golden delta (every op kind)
// both ways: AppendDelta must write the golden bytes and what json.Marshal
// writes, and so what older displays were built against.
func TestAppendDeltaMatchesMarshal(t *testing.T) {
	deltas, golden, names := goldenMessages[protocol.Delta](t, "display_delta_*.json", 8)
	for i, d := range deltas {
		if got := checkAppendDelta(t, d.Position, d.Ops); !bytes.Equal(got, golden[i]) {
			t.Errorf("%s: AppendDelta = %s, want the golden bytes %s", names[i], got, golden[i])
		}
	}
	p := protocol.Position{Epoch: "01JD3XK5Q8R2M7<&>\u2028", Seq: 1<<64 - 1}
	checkAppendDelta(t, p, []cart.Op{})
	checkAppendDelta(t, p, nil)
}

// checkAppendDelta compares AppendDelta with json.Marshal and returns
// AppendDelta's bytes.
func checkAppendDelta(t *testing.T, p protocol.Position, ops []cart.Op) []byte {
	t.Helper()
	want, err := json.Marshal(protocol.Delta{Type: protocol.TypeDelta, Position: p, Ops: ops})
	if err != nil {
		t.Fatal(err)
	}
	got := protocol.AppendDelta(nil, p, ops)
	if !bytes.Equal(got, want) {
		t.Errorf("AppendDelta = %s\njson.Marshal = %s", got, want)
	}
	return got
}

// TestAppendSnapshotMatchesMarshal does for each golden snapshot what
// TestAppendDeltaMatchesMarshal does for deltas.
func TestAppendSnapshotMatchesMarshal(t *testing.T) {
	snaps, golden, names := goldenMessages[protocol.Snapshot](t, "display_snapshot*.json", 4)
	restored := false
	for i, s := range snaps {
		restored = restored || s.Restored
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got := protocol.AppendSnapshot(nil, s.Position, &s.Cart, s.Restored)
		if !bytes.Equal(got, want) || !bytes.Equal(got, golden[i]) {
			t.Errorf("%s: AppendSnapshot = %s\njson.Marshal = %s\ngolden = %s", names[i], got, want, golden[i])
		}
	}
	if !restored {
		t.Error("no golden snapshot is restored: the restored field is not checked")
	}
}
