package configfile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDurationTOML(t *testing.T) {
	type config struct {
		D Duration `toml:"d"`
	}
	tests := []struct {
		file    string
		want    time.Duration
		wantErr bool
	}{
		{file: `d = "20s"`, want: 20 * time.Second},
		{file: `d = "500ms"`, want: 500 * time.Millisecond},
		{file: `d = "1h2m3.5s"`, want: time.Hour + 2*time.Minute + 3500*time.Millisecond},
		{file: `d = "-1s"`, want: -time.Second}, // range checks belong to each config's Validate
		{file: `d = "0"`, want: 0},
		{file: `d = "20"`, wantErr: true}, // no unit
		{file: `d = "soon"`, wantErr: true},
		{file: `d = ""`, wantErr: true},
		{file: `d = 20`, wantErr: true}, // a number, not 20 ns
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.toml")
			if err := os.WriteFile(p, []byte(tt.file+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			got := config{D: Duration(time.Minute)}
			err := Load(p, &got)
			switch {
			case tt.wantErr && err == nil:
				t.Errorf("got %v, want an error", got.D)
			case !tt.wantErr && (err != nil || time.Duration(got.D) != tt.want):
				t.Errorf("got %v, %v; want %v", got.D, err, tt.want)
			}
		})
	}
}

func TestDurationMessageNamesTheValue(t *testing.T) {
	var d Duration
	err := d.UnmarshalText([]byte("5 seconds"))
	if err == nil || !strings.Contains(err.Error(), `"5 seconds"`) || !strings.Contains(err.Error(), "20s") {
		t.Errorf("got %v, want the value and an example", err)
	}
}

func TestDurationJSON(t *testing.T) {
	type config struct {
		D Duration `json:"d"`
	}
	for _, d := range []time.Duration{0, time.Nanosecond, 30 * time.Millisecond, 90 * time.Minute, -time.Second} {
		b, err := json.Marshal(config{D: Duration(d)})
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"d":"` + d.String() + `"}`; string(b) != want {
			t.Errorf("Marshal(%v) = %s, want %s", d, b, want)
		}
		var back config
		if err := json.Unmarshal(b, &back); err != nil || time.Duration(back.D) != d {
			t.Errorf("round trip of %v: got %v, %v", d, back.D, err)
		}
	}
	for _, bad := range []string{`{"d":20}`, `{"d":"20"}`, `{"d":"x"}`} {
		var c config
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", bad, c.D)
		}
	}
}
