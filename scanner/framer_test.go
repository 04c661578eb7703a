package scanner

import (
	"slices"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/configfile"
)

type chunk struct {
	data string
	at   time.Duration // since t0
	idle bool          // a read timeout instead of data
}

func runFramer(s SerialConfig, chunks []chunk) (frames, drops []string) {
	f := newFramer(Config{Kind: KindSerial, Serial: s}.WithDefaults().Serial)
	f.onDrop = func(reason string, n int) { drops = append(drops, reason) }
	t0 := time.Unix(1000, 0)
	out := func(b []byte, at time.Time) { frames = append(frames, string(b)) }
	for _, c := range chunks {
		if c.idle {
			f.idle(t0.Add(c.at), out)
			continue
		}
		f.feed([]byte(c.data), t0.Add(c.at), out)
	}
	return frames, drops
}

func TestFramer(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name   string
		cfg    SerialConfig
		chunks []chunk
		want   []string
		drops  []string
	}{
		{name: "any cr", chunks: []chunk{{data: "123\r456\r"}}, want: []string{"123", "456"}},
		{name: "any crlf", chunks: []chunk{{data: "123\r\n456\r\n"}}, want: []string{"123", "456"}},
		{name: "any lf split", chunks: []chunk{{data: "12"}, {data: "3\n4", at: 1 * ms}, {data: "56\n", at: 2 * ms}}, want: []string{"123", "456"}},
		{name: "cr keeps lf inside", cfg: SerialConfig{Terminator: TerminatorCR}, chunks: []chunk{{data: "a\nb\r\nc\r"}}, want: []string{"a\nb", "c"}},
		{name: "lf", cfg: SerialConfig{Terminator: TerminatorLF}, chunks: []chunk{{data: "a\rb\n\rc\n"}}, want: []string{"a\rb", "c"}},
		{name: "crlf lone cr is data", cfg: SerialConfig{Terminator: TerminatorCRLF}, chunks: []chunk{{data: "a\rb\r"}, {data: "\nc\r\n", at: ms}}, want: []string{"a\rb", "c"}},
		{name: "crlf lf alone is data", cfg: SerialConfig{Terminator: TerminatorCRLF}, chunks: []chunk{{data: "a\nb\r\n"}}, want: []string{"a\nb"}},
		{
			name: "idle gap", cfg: SerialConfig{Terminator: TerminatorIdle, IdleGap: configfile.Duration(20 * ms)},
			chunks: []chunk{{data: "12\r3"}, {data: "45", at: 5 * ms}, {idle: true, at: 15 * ms}, {idle: true, at: 26 * ms}, {data: "x", at: 40 * ms}, {data: "y", at: 70 * ms}, {idle: true, at: 95 * ms}},
			want:   []string{"12\r345", "x", "y"},
		},
		{
			name:   "stale partial dropped",
			chunks: []chunk{{data: "99"}, {data: "4006381333931\r", at: 2 * time.Second}},
			want:   []string{"4006381333931"}, drops: []string{DiscardStale},
		},
		{
			name: "overflow dropped whole", cfg: SerialConfig{MaxLength: 4},
			chunks: []chunk{{data: "12345678\rabcd\r"}},
			want:   []string{"abcd"}, drops: []string{DiscardOverflow},
		},
		{name: "empty frames vanish", chunks: []chunk{{data: "\r\r\n\n"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, drops := runFramer(tt.cfg, tt.chunks)
			if !slices.Equal(got, tt.want) {
				t.Errorf("frames = %q, want %q", got, tt.want)
			}
			if !slices.Equal(drops, tt.drops) {
				t.Errorf("drops = %q, want %q", drops, tt.drops)
			}
		})
	}
}

func TestStripAffixes(t *testing.T) {
	tests := []struct{ in, pre, suf, want string }{
		{"\x02123\x03", "\x02", "\x03", "123"},
		{"123", "\x02", "\x03", "123"},
		{"\x02", "\x02", "\x02", ""},
		{"ab", "abc", "", "ab"},
	}
	for _, tt := range tests {
		if got := stripAffixes(tt.in, tt.pre, tt.suf); got != tt.want {
			t.Errorf("stripAffixes(%q, %q, %q) = %q, want %q", tt.in, tt.pre, tt.suf, got, tt.want)
		}
	}
}
