package discovery

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
)

var (
	ifLo   = net.Interface{Index: 1, Name: "lo", Flags: net.FlagUp | net.FlagLoopback}
	ifEth  = net.Interface{Index: 2, Name: "eth0", Flags: net.FlagUp | net.FlagMulticast | net.FlagBroadcast}
	ifWlan = net.Interface{Index: 3, Name: "wlan0", Flags: net.FlagUp | net.FlagMulticast}
	ifDown = net.Interface{Index: 4, Name: "eth1", Flags: net.FlagMulticast}
	ifTun  = net.Interface{Index: 5, Name: "tun0", Flags: net.FlagUp | net.FlagPointToPoint}
)

func TestSelectInterfaces(t *testing.T) {
	tests := []struct {
		name  string
		all   []net.Interface
		names []string
		want  []string
	}{
		{"default: up multicast non-loopback", []net.Interface{ifLo, ifEth, ifWlan, ifDown, ifTun}, nil, []string{"eth0", "wlan0"}},
		{"loopback-only host", []net.Interface{ifLo, ifDown}, nil, []string{"lo"}},
		{"restricted", []net.Interface{ifLo, ifEth, ifWlan}, []string{"wlan0"}, []string{"wlan0"}},
		{"restricted to loopback", []net.Interface{ifLo, ifEth}, []string{"lo"}, []string{"lo"}},
		{"restricted, interface down", []net.Interface{ifLo, ifDown}, []string{"eth1"}, nil},
		{"restricted, unknown name", []net.Interface{ifEth}, []string{"eth9"}, nil},
		{"nothing", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, ifi := range selectInterfaces(tt.all, tt.names) {
				got = append(got, ifi.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("selectInterfaces = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAdvertisedAddrs(t *testing.T) {
	addrs := map[string][]string{
		"lo":    {"127.0.0.1/8", "::1/128"},
		"eth0":  {"192.168.1.20/24", "fe80::1/64", "2001:db8::20/64", "fd00::20/64", "192.168.1.20/24"},
		"wlan0": {"169.254.3.4/16", "0.0.0.0/0", "127.0.0.5/8"},
	}
	src := func(ifi net.Interface) ([]netip.Prefix, error) {
		if ifi.Name == "broken" {
			return nil, errors.New("boom")
		}
		var out []netip.Prefix
		for _, s := range addrs[ifi.Name] {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out, nil
	}
	broken := net.Interface{Index: 9, Name: "broken", Flags: net.FlagUp | net.FlagMulticast}
	tests := []struct {
		name    string
		ifaces  []net.Interface
		want    []string
		wantErr bool
	}{
		{"ethernet: no link-local IPv6, sorted, deduplicated", []net.Interface{ifEth}, []string{"192.168.1.20", "2001:db8::20", "fd00::20"}, false},
		{"loopback keeps loopback addresses", []net.Interface{ifLo}, []string{"127.0.0.1", "::1"}, false},
		{"loopback address on non-loopback interface dropped", []net.Interface{ifWlan}, []string{"169.254.3.4"}, false},
		{"one broken interface is skipped", []net.Interface{broken, ifEth}, []string{"192.168.1.20", "2001:db8::20", "fd00::20"}, false},
		{"only broken interfaces", []net.Interface{broken}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := advertisedAddrs(tt.ifaces, src)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			var gs []string
			for _, a := range got {
				gs = append(gs, a.String())
			}
			if !slices.Equal(gs, tt.want) {
				t.Errorf("advertisedAddrs = %q, want %q", gs, tt.want)
			}
		})
	}
}

func TestHostLabel(t *testing.T) {
	tests := []struct{ in, want string }{
		{"register1", "register1"},
		{"register1.local", "register1"},
		{"Kasse 2", "Kasse-2"},
		{"", "posdisplay"},
		{"---", "posdisplay"},
		{"café", "caf"},
		{string(make([]byte, 100)), "posdisplay"},
		{"a234567890123456789012345678901234567890123456789012345678901234567890", "a23456789012345678901234567890123456789012345678901234567890123"},
	}
	for _, tt := range tests {
		if got := hostLabel(tt.in); got != tt.want {
			t.Errorf("hostLabel(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
