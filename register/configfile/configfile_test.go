package configfile

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestLoad(t *testing.T) {
	type pos struct {
		Listen string `toml:"listen"`
	}
	type config struct {
		Name string `toml:"name"`
		POS  pos    `toml:"pos"`
	}
	tests := []struct {
		name     string
		file     string
		want     config
		wantKeys []string // an *UnknownKeysError with these keys
		wantErr  bool     // another error
	}{
		{name: "over the defaults", file: "[pos]\nlisten = \"127.0.0.1:1\"\n", want: config{Name: "default", POS: pos{Listen: "127.0.0.1:1"}}},
		{name: "misspelt keys", file: "nmae = \"x\"\n[pos]\nlisten = \"a\"\nallowed_orgins = []\n", wantKeys: []string{"nmae", "pos.allowed_orgins"}},
		{name: "bad syntax", file: "name = \n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.toml")
			if err := os.WriteFile(p, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			got := config{Name: "default"}
			err := Load(p, &got)
			var uk *UnknownKeysError
			switch {
			case tt.wantKeys != nil:
				if !errors.As(err, &uk) || !slices.Equal(uk.Keys, tt.wantKeys) || uk.Path != p {
					t.Errorf("got %v, want unknown keys %v", err, tt.wantKeys)
				}
			case tt.wantErr:
				if err == nil || errors.As(err, &uk) {
					t.Errorf("got %v, want a syntax error", err)
				}
			case err != nil || got != tt.want:
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
