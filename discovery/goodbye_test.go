package discovery

import (
	"slices"
	"testing"

	"github.com/miekg/dns"
)

const testSuffix = "." + ServiceType + "." + Domain

func pack(t testing.TB, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func goodbyeMsg(ttl uint32, response bool, rrs ...dns.RR) *dns.Msg {
	m := new(dns.Msg)
	m.Response = response
	for _, rr := range rrs {
		rr.Header().Ttl = ttl
	}
	m.Answer = rrs
	return m
}

func ptr(name, target string) *dns.PTR {
	return &dns.PTR{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypePTR, Class: dns.ClassINET}, Ptr: target}
}

func srv(name string) *dns.SRV {
	return &dns.SRV{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeSRV, Class: dns.ClassINET}, Port: 7443, Target: "register1.local."}
}

func TestGoodbyes(t *testing.T) {
	svc := ServiceType + "." + Domain
	tests := []struct {
		name string
		pkt  []byte
		want []string
	}{
		{"ptr and srv goodbye", pack(t, goodbyeMsg(0, true, ptr(svc, "agent1-till1."+svc), srv("agent1-till1."+svc))), []string{"agent1-till1"}},
		{"case-insensitive", pack(t, goodbyeMsg(0, true, srv("agent1-till1._POSDISPLAY._tcp.local."))), []string{"agent1-till1"}},
		{"live records are not goodbyes", pack(t, goodbyeMsg(120, true, ptr(svc, "agent1-till1."+svc))), nil},
		{"queries are ignored", pack(t, goodbyeMsg(0, false, srv("agent1-till1."+svc))), nil},
		{"other service types are ignored", pack(t, goodbyeMsg(0, true, ptr("_http._tcp.local.", "x._http._tcp.local."), srv("x._http._tcp.local."))), nil},
		{"bare service name is no instance", pack(t, goodbyeMsg(0, true, srv(svc))), nil},
		{"garbage", []byte("\x00\x01garbage"), nil},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := goodbyes(tt.pkt, testSuffix); !slices.Equal(got, tt.want) {
				t.Errorf("goodbyes = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzGoodbyes feeds arbitrary packets to the goodbye parser: it reads
// untrusted multicast traffic and must never panic.
func FuzzGoodbyes(f *testing.F) {
	svc := ServiceType + "." + Domain
	f.Add(pack(f, goodbyeMsg(0, true, ptr(svc, "agent1-till1."+svc), srv("agent1-till1."+svc))))
	f.Add(pack(f, goodbyeMsg(0, true, srv("a\\ b."+svc))))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		for _, inst := range goodbyes(pkt, testSuffix) {
			if inst == "" {
				t.Fatalf("empty instance name from %x", pkt)
			}
		}
	})
}
