package scanner

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/posdisplay/posdisplay/register/configfile"
)

func TestExampleConfig(t *testing.T) {
	b, err := os.ReadFile("scanners.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Scanner []Config `toml:"scanner"`
	}
	md, err := toml.Decode(string(b), &file)
	if err != nil {
		t.Fatalf("decode example: %v", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		t.Errorf("example has unknown keys %v", und)
	}
	if got, want := len(file.Scanner), 2; got != want {
		t.Fatalf("got %d scanners, want %d", got, want)
	}
	if err := ValidateConfigs(file.Scanner); err != nil {
		t.Errorf("example config invalid: %v", err)
	}
	// Every key of the structs must appear in the example (commented or
	// not), so the example documents them all.
	for _, key := range []string{"name", "kind", "strip_prefix", "strip_suffix", "path", "by_id", "usb_vendor",
		"usb_product", "usb_serial", "baud", "parity", "data_bits", "stop_bits", "terminator", "idle_gap",
		"stale_timeout", "max_length", "name_match", "grab", "layout", "min_key_gap", "max_key_gap", "min_length"} {
		if !containsKey(string(b), key) {
			t.Errorf("example does not document key %q", key)
		}
	}
}

func containsKey(doc, key string) bool {
	for i := 0; i+len(key) < len(doc); i++ {
		if doc[i:i+len(key)] == key && doc[i+len(key)] == ' ' && (i == 0 || doc[i-1] == ' ' || doc[i-1] == '\n') {
			return true
		}
	}
	return false
}

func TestConfigDefaults(t *testing.T) {
	c := Config{Name: "s", Kind: KindSerial, Serial: SerialConfig{Path: "/dev/ttyUSB0"}}
	if err := c.Validate(); err != nil {
		t.Fatalf("minimal serial config: %v", err)
	}
	d := c.WithDefaults()
	if d.Serial.Baud != 9600 || d.Serial.Terminator != TerminatorAny || d.Serial.DataBits != 8 ||
		d.Serial.Parity != "none" || d.Serial.StopBits != "1" {
		t.Errorf("serial defaults = %+v", d.Serial)
	}
	h := Config{Name: "h", Kind: KindHID, HID: HIDConfig{NameMatch: "scanner"}}
	if err := h.Validate(); err != nil {
		t.Fatalf("minimal hid config: %v", err)
	}
	if !h.HID.GrabEnabled() {
		t.Errorf("grab default = false, want true")
	}
	no := false
	h.HID.Grab = &no
	if h.HID.GrabEnabled() {
		t.Errorf("grab = false set, GrabEnabled() = true")
	}
	if got := h.WithDefaults().HID.Layout; got != "us" {
		t.Errorf("layout default = %q, want us", got)
	}
}

func TestConfigValidate(t *testing.T) {
	serial := func(s SerialConfig) Config { return Config{Name: "s", Kind: KindSerial, Serial: s} }
	hid := func(h HIDConfig) Config { return Config{Name: "h", Kind: KindHID, HID: h} }
	tests := []struct {
		name   string
		cfg    Config
		fields []string
	}{
		{name: "no kind", cfg: Config{Name: "x"}, fields: []string{"kind"}},
		{name: "bad kind", cfg: Config{Name: "x", Kind: "usb"}, fields: []string{"kind"}},
		{name: "bad name", cfg: Config{Name: "a b", Kind: KindSerial, Serial: SerialConfig{Path: "/dev/x"}}, fields: []string{"name"}},
		{name: "no port", cfg: serial(SerialConfig{}), fields: []string{"serial"}},
		{name: "two ports", cfg: serial(SerialConfig{Path: "/dev/x", ByID: "y"}), fields: []string{"serial"}},
		{name: "vid without pid", cfg: serial(SerialConfig{USBVendor: "05e0"}), fields: []string{"serial.usb_vendor"}},
		{name: "bad vid", cfg: serial(SerialConfig{USBVendor: "5e0", USBProduct: "1200"}), fields: []string{"serial.usb_vendor"}},
		{name: "relative path", cfg: serial(SerialConfig{Path: "ttyUSB0"}), fields: []string{"serial.path"}},
		{name: "by_id escape", cfg: serial(SerialConfig{ByID: "../../etc/passwd"}), fields: []string{"serial.by_id"}},
		{
			name:   "line settings",
			cfg:    serial(SerialConfig{Path: "/dev/x", Baud: 12, Parity: "weird", DataBits: 9, StopBits: "3", Terminator: "etx", MaxLength: -1}),
			fields: []string{"serial.baud", "serial.parity", "serial.data_bits", "serial.stop_bits", "serial.terminator", "serial.max_length"},
		},
		{name: "idle gap", cfg: serial(SerialConfig{Path: "/dev/x", IdleGap: configfile.Duration(time.Microsecond)}), fields: []string{"serial.idle_gap"}},
		{name: "no device", cfg: hid(HIDConfig{}), fields: []string{"hid"}},
		{name: "two devices", cfg: hid(HIDConfig{Path: "/dev/input/event1", NameMatch: "x"}), fields: []string{"hid"}},
		{name: "layout", cfg: hid(HIDConfig{NameMatch: "x", Layout: "dvorak"}), fields: []string{"hid.layout"}},
		{name: "gaps", cfg: hid(HIDConfig{NameMatch: "x", MinKeyGap: configfile.Duration(time.Second)}), fields: []string{"hid.max_key_gap"}},
		{name: "stale below gap", cfg: hid(HIDConfig{NameMatch: "x", MaxKeyGap: configfile.Duration(time.Second)}), fields: []string{"hid.stale_timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig", err)
			}
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var ce *ConfigError
				if !errors.As(e, &ce) {
					t.Fatalf("error %v is not a *ConfigError", e)
				}
				got = append(got, ce.Field)
			}
			if len(got) != len(tt.fields) {
				t.Fatalf("fields = %q, want %q (%v)", got, tt.fields, err)
			}
			for i := range got {
				if got[i] != tt.fields[i] {
					t.Errorf("fields = %q, want %q", got, tt.fields)
				}
			}
		})
	}
}

func TestValidateConfigsDuplicate(t *testing.T) {
	c := Config{Name: "a", Kind: KindSerial, Serial: SerialConfig{Path: "/dev/x"}}
	err := ValidateConfigs([]Config{c, c})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "name" {
		t.Fatalf("ValidateConfigs(dup) = %v, want name ConfigError", err)
	}
}

func TestConfigJSON(t *testing.T) {
	c := Config{Name: "a", Kind: KindSerial, Serial: SerialConfig{Path: "/dev/x", IdleGap: configfile.Duration(30 * time.Millisecond)}}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	if back.Serial.IdleGap != c.Serial.IdleGap || back.Serial.Path != "/dev/x" {
		t.Errorf("round trip = %+v, want %+v (json %s)", back, c, b)
	}
}
