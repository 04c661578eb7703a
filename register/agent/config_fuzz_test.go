package agent

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadConfig: any config file is either loaded and validated or
// rejected with an error, never a panic.
func FuzzLoadConfig(f *testing.F) {
	if b, err := os.ReadFile("../../packaging/agent/agent.toml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("registers = [\"1\", \"2\"]\ncurrency = \"EUR\"\n[pos]\nallowed_origins = [\"https://pos.example.com\"]\n"))
	f.Add([]byte("[[scanner]]\nname = \"a\"\nkind = \"serial\"\n[scanner.serial]\npath = \"/dev/ttyS0\"\n"))
	f.Add([]byte("[display]\nping_interval = \"-1s\"\nqueue_frames = 0\n"))
	f.Add([]byte("[discovery]\nadvertise = true\nnames = { \"1\" = \"Till\" }\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "agent.toml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(p)
		if err != nil {
			return
		}
		_ = cfg.Validate()
	})
}
