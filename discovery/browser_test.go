package discovery

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/grandcat/zeroconf"
)

func entry(instance string, txt []string, ips ...string) *zeroconf.ServiceEntry {
	e := zeroconf.NewServiceEntry(instance, ServiceType, Domain)
	e.HostName = "register1.local."
	e.Port = 7443
	e.Text = txt
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip.To4() != nil {
			e.AddrIPv4 = append(e.AddrIPv4, ip)
		} else {
			e.AddrIPv6 = append(e.AddrIPv6, ip)
		}
	}
	return e
}

func TestServiceFromEntry(t *testing.T) {
	good := escapeTXT(must(validRecord().EncodeTXT()))
	tests := []struct {
		name      string
		e         *zeroconf.ServiceEntry
		wantAddrs []string
		wantErr   error
	}{
		{"valid, addresses sorted, link-local IPv6 dropped", entry("agent-7-till_2", good, "fd00::1", "fe80::1", "10.0.0.2", "10.0.0.2"), []string{"10.0.0.2", "fd00::1"}, nil},
		{"only link-local IPv6", entry("x", good, "fe80::1"), nil, ErrInvalidRecord},
		{"no address", entry("x", good), nil, ErrInvalidRecord},
		{"unspecified and multicast", entry("x", good, "0.0.0.0", "224.0.0.251"), nil, ErrInvalidRecord},
		{"bad TXT", entry("x", []string{"pv=1"}, "10.0.0.2"), nil, ErrInvalidRecord},
		{"bad escape in TXT rejects the record", entry("x", append(slices.Clone(good), `name=\9`), "10.0.0.2"), nil, ErrInvalidRecord},
		{"empty instance", entry("", good, "10.0.0.2"), nil, ErrInvalidRecord},
		{"nil", nil, nil, ErrInvalidRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := serviceFromEntry(tt.e)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var addrs []string
			for _, a := range got.Addrs {
				addrs = append(addrs, a.String())
			}
			if !slices.Equal(addrs, tt.wantAddrs) {
				t.Errorf("addrs = %q, want %q", addrs, tt.wantAddrs)
			}
			if got.Record != validRecord() {
				t.Errorf("record = %+v, want %+v", got.Record, validRecord())
			}
			eps := got.Endpoints()
			if want := netip.MustParseAddrPort("10.0.0.2:7443"); len(eps) == 0 || eps[0] != want {
				t.Errorf("Endpoints()[0] = %v, want %v", eps, want)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// FuzzServiceFromEntry builds browse results from arbitrary fields, as a
// hostile responder could, and checks they are validated without panics.
func FuzzServiceFromEntry(f *testing.F) {
	good := escapeTXT(must(validRecord().EncodeTXT()))
	f.Add("agent-7-till_2", "register1.local.", 7443, strings.Join(good, "\n"), []byte{10, 0, 0, 2})
	f.Add("", "", 0, "", []byte{})
	f.Add("a\\ b", "h", 70000, "pv=1\\", []byte{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, instance, host string, port int, txt string, ip []byte) {
		e := zeroconf.NewServiceEntry(instance, ServiceType, Domain)
		e.HostName, e.Port, e.Text = host, port, strings.Split(txt, "\n")
		e.AddrIPv4 = []net.IP{ip}
		e.AddrIPv6 = []net.IP{ip}
		svc, err := serviceFromEntry(e)
		if err != nil {
			if !errors.Is(err, ErrInvalidRecord) && !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("error %v wraps neither ErrInvalidRecord nor ErrUnsupportedVersion", err)
			}
			return
		}
		if err := svc.Record.Validate(); err != nil {
			t.Fatalf("accepted service with invalid record: %v", err)
		}
		if svc.Port < 1 || svc.Port > 65535 || len(svc.Addrs) == 0 {
			t.Fatalf("accepted service with port %d, addrs %v", svc.Port, svc.Addrs)
		}
	})
}
