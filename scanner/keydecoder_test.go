package scanner

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/scanner/scannertest"
)

func decodeFixture(t *testing.T, file string, h HIDConfig) (scans []keyFrame, discards []keyFrame) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "keys", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, err := scannertest.ParseEvents(f)
	if err != nil {
		t.Fatalf("ParseEvents(%s): %v", file, err)
	}
	d := newKeyDecoder(Config{Kind: KindHID, HID: h}.WithDefaults().HID, nil)
	for i := range evs {
		d.feed(&evs[i], func(k keyFrame) {
			if k.Reason != "" {
				discards = append(discards, k)
			} else {
				scans = append(scans, k)
			}
		})
	}
	return scans, discards
}

func TestKeyDecoderFixtures(t *testing.T) {
	gs1 := "]C1010950110153000310AB1\x1d21XY"
	tests := []struct {
		file     string
		layout   string
		want     []string
		discards []string
	}{
		{file: "us_scans.txt", layout: "us", want: []string{"HA112", "]E04006381333931", gs1, "abc-XYZ/9"}},
		{file: "fr_scans.txt", layout: "fr", want: []string{"HA112", "]E04006381333931", gs1, "zaqmw-é&/.:_"}},
		{file: "de_scans.txt", layout: "de", want: []string{"HA112", "]E04006381333931", "Zy-yZ/(ß)+@ü"}},
		{file: "uk_scans.txt", layout: "uk", want: []string{"HA112", `A"@#£1`}},
		{file: "us_capslock.txt", layout: "us", want: []string{"HA112", "aBc", "ha112"}},
		{file: "fr_capslock.txt", layout: "fr", want: []string{"ha112", "HA"}},
		{file: "de_capslock.txt", layout: "de", want: []string{"ZYÜ1ß", "zY"}},
		{file: "uk_capslock.txt", layout: "uk", want: []string{"A1#£", "a1#"}},
		{file: "fr_typing.txt", layout: "fr", want: []string{"HA112"}, discards: []string{DiscardTyping, DiscardTyping}},
		{
			file: "us_typing.txt", layout: "us",
			want:     []string{"96385074", "5901234123457", "HA112"},
			discards: []string{DiscardTyping, DiscardStale, DiscardTyping, DiscardTyping},
		},
		{
			file: "us_quantity_then_scan.txt", layout: "us",
			want:     []string{"4006381333931", "396385074"},
			discards: []string{DiscardStale},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.layout, func(t *testing.T) {
			scans, discards := decodeFixture(t, tt.file, HIDConfig{Layout: tt.layout})
			var got []string
			for _, s := range scans {
				got = append(got, s.Data)
				if s.Timing.MedianGap > DefaultMaxKeyGap {
					t.Errorf("scan %q median gap %v, want <= %v", s.Data, s.Timing.MedianGap, DefaultMaxKeyGap)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("scans = %q, want %q", got, tt.want)
			}
			var reasons []string
			for _, d := range discards {
				reasons = append(reasons, d.Reason)
				if d.Data != "" {
					t.Errorf("discarded frame carries data %q, want none", d.Data)
				}
			}
			if !slices.Equal(reasons, tt.discards) {
				t.Errorf("discards = %q, want %q", reasons, tt.discards)
			}
		})
	}
}

// A scanner programmed for US read with the FR table garbles, which is why
// the layout is configured per scanner.
func TestKeyDecoderWrongLayout(t *testing.T) {
	scans, _ := decodeFixture(t, "us_scans.txt", HIDConfig{Layout: "fr"})
	if len(scans) == 0 || scans[0].Data != "HQ&&é" {
		t.Fatalf("first scan = %v, want HQ&&é", scans)
	}
}

func TestKeyTiming(t *testing.T) {
	t0 := time.Unix(100, 0)
	ts := []time.Time{t0, t0.Add(4 * time.Millisecond), t0.Add(6 * time.Millisecond), t0.Add(16 * time.Millisecond)}
	got := keyTiming(ts)
	want := KeyTiming{Keys: 4, MinGap: 2 * time.Millisecond, MedianGap: 4 * time.Millisecond, MaxGap: 10 * time.Millisecond, Total: 16 * time.Millisecond}
	if got != want {
		t.Errorf("keyTiming = %+v, want %+v", got, want)
	}
}
