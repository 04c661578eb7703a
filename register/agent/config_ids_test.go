package agent

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The packaged agent.toml states the register id rule the validator
// applies, its example ids load with the packaged settings (mDNS on), and
// "lane.1" is refused there with the same words (issue 21 item 8: the
// comment allowed a "." that the advertised config rejected).
func TestPackagedRegisterIDRule(t *testing.T) {
	const packaged = "../../packaging/agent/agent.toml"
	raw, err := os.ReadFile(packaged)
	if err != nil {
		t.Fatal(err)
	}
	// The comment as one line of words.
	var words []string
	for _, l := range strings.Split(string(raw), "\n") {
		if c, ok := strings.CutPrefix(l, "#"); ok {
			words = append(words, strings.Fields(c)...)
		}
	}
	comment := strings.Join(words, " ")
	for _, rule := range []string{RegisterIDRule, AnnouncedRegisterIDRule} {
		if !strings.Contains(comment, rule) {
			t.Errorf("%s does not state the rule %q", packaged, rule)
		}
	}
	m := regexp.MustCompile(`Examples: ((?:"[^"]*"(?:, )?)+)\.`).FindStringSubmatch(comment)
	if m == nil {
		t.Fatalf("%s: no `Examples: \"...\", ...` of register ids", packaged)
	}
	var examples []string
	for _, q := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(m[1], -1) {
		examples = append(examples, q[1])
	}

	load := func(registers []string) (Config, error) {
		t.Helper()
		cfg, err := LoadConfig(packaged)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Registers = registers
		cfg.State.Dir = filepath.Join(t.TempDir(), "state")
		return cfg, cfg.Validate()
	}
	if cfg, err := load(examples); err != nil || !cfg.Discovery.Advertise {
		t.Fatalf("the packaged config with its example ids %q: %v (advertise %v, want on)", examples, err, cfg.Discovery.Advertise)
	}
	cfg, err := load([]string{"lane.1"})
	if err == nil || !strings.Contains(err.Error(), AnnouncedRegisterIDRule) || !strings.Contains(err.Error(), "discovery.advertise = false") {
		t.Fatalf(`"lane.1" with mDNS on: got %v, want the rule %q and the way out`, err, AnnouncedRegisterIDRule)
	}
	cfg.Discovery.Advertise = false
	if err := cfg.Validate(); err != nil {
		t.Fatalf(`"lane.1" with advertise = false: %v`, err)
	}
	cfg.Registers = []string{"lane/1"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), RegisterIDRule) {
		t.Fatalf(`"lane/1": got %v, want the rule %q`, err, RegisterIDRule)
	}
}
