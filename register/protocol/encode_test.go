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

// TestAppendDeltaMatchesMarshal encodes each golden delta (every op kind)
// both ways: AppendDelta must write what json.Marshal writes, and so what
// older displays were built against.
func TestAppendDeltaMatchesMarshal(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/display_delta_*.json")
	if err != nil || len(files) < 8 {
		t.Fatalf("golden deltas: %d files, %v; want every op kind", len(files), err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var d protocol.Delta
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		checkAppendDelta(t, d.Position, d.Ops)
		var golden bytes.Buffer
		if err := json.Compact(&golden, data); err != nil {
			t.Fatal(err)
		}
		if got := protocol.AppendDelta(nil, d.Position, d.Ops); !bytes.Equal(got, golden.Bytes()) {
			t.Errorf("%s: AppendDelta = %s, want the golden bytes %s", name, got, golden.Bytes())
		}
	}
	p := protocol.Position{Epoch: "01JD3XK5Q8R2M7<&>\u2028", Seq: 1<<64 - 1}
	checkAppendDelta(t, p, []cart.Op{})
	checkAppendDelta(t, p, nil)
}

func checkAppendDelta(t *testing.T, p protocol.Position, ops []cart.Op) {
	t.Helper()
	{
		want, err := json.Marshal(protocol.Delta{Type: protocol.TypeDelta, Position: p, Ops: ops})
		if err != nil {
			t.Fatal(err)
		}
		if got := protocol.AppendDelta(nil, p, ops); string(got) != string(want) {
			t.Errorf("AppendDelta = %s\njson.Marshal = %s", got, want)
		}
	}
}

// TestAppendSnapshotMatchesMarshal does for each golden snapshot what
// TestAppendDeltaMatchesMarshal does for deltas.
func TestAppendSnapshotMatchesMarshal(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/display_snapshot*.json")
	if err != nil || len(files) < 4 {
		t.Fatalf("golden snapshots: %d files, %v; want several", len(files), err)
	}
	restored := false
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var s protocol.Snapshot
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatal(err)
		}
		restored = restored || s.Restored
		var golden bytes.Buffer
		if err := json.Compact(&golden, data); err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got := protocol.AppendSnapshot(nil, s.Position, &s.Cart, s.Restored)
		if !bytes.Equal(got, want) || !bytes.Equal(got, golden.Bytes()) {
			t.Errorf("%s: AppendSnapshot = %s\njson.Marshal = %s\ngolden = %s", name, got, want, golden.Bytes())
		}
	}
	if !restored {
		t.Error("no golden snapshot is restored: the restored field is not checked")
	}
}
