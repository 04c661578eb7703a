package scanner

import (
	"encoding/json"
	"testing"
	"time"
)

// TestScanJSON pins the wire names: the agent forwards code, symbology,
// source and at to the POS page.
func TestScanJSON(t *testing.T) {
	s := Decode("]C1010950110153000310AB")
	s.Source = "lane1"
	s.At = time.Date(2026, 11, 22, 3, 4, 5, 6000, time.UTC)
	s.Timing = &KeyTiming{Keys: 2, MinGap: time.Millisecond, MedianGap: time.Millisecond, MaxGap: time.Millisecond, Total: time.Millisecond}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"code":"010950110153000310AB","raw":"]C1010950110153000310AB","symbology":"gs1-128","aim":"]C1",` +
		`"check":"valid","gs1":[{"ai":"01","value":"09501101530003"},{"ai":"10","value":"AB"}],"source":"lane1",` +
		`"at":"2026-11-22T03:04:05.000006Z","timing":{"keys":2,"min_gap_ns":1000000,"median_gap_ns":1000000,"max_gap_ns":1000000,"total_ns":1000000}}`
	if string(b) != want {
		t.Errorf("json =\n%s\nwant\n%s", b, want)
	}
	if s := Decode("caf\xe9"); !s.InvalidUTF8 || s.Code != "caf\xe9" {
		t.Errorf("Decode(latin-1) = code %q invalid %v, want the bytes kept and flagged", s.Code, s.InvalidUTF8)
	}
}
