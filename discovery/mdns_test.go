//go:build linux

package discovery_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grandcat/zeroconf"
	"github.com/miekg/dns"

	"github.com/posdisplay/posdisplay/discovery"
	"github.com/posdisplay/posdisplay/discovery/discoverytest"
	"github.com/posdisplay/posdisplay/register/testenv"
)

func lo(t testing.TB) net.Interface {
	ifi, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	return *ifi
}

// TestMDNSInNamespace exercises advertiser and browser over real multicast
// DNS inside a private network namespace: register, browse, hostile TXT,
// address change, goodbye on shutdown, no leaked goroutines.
func TestMDNSInNamespace(t *testing.T) {
	if !discoverytest.InNetNS(t) {
		return
	}
	if _, err := exec.LookPath("ip"); err != nil {
		testenv.Missing(t, "the ip tool", "changing addresses (apt-get install iproute2)")
	}
	t.Cleanup(func() { discoverytest.VerifyNoLeaks(t, 10*time.Second) }) // runs after the other cleanups
	log := testLogger(t)

	// A raw listener records goodbye packets (TTL 0 SRV records).
	goodbyes := listenGoodbyes(t)

	ev := newEvents()
	br := discovery.NewMDNSBrowser(discovery.BrowserConfig{Interval: 300 * time.Millisecond, Misses: 2, Logger: log})
	stopBrowse := run(t, func(ctx context.Context) error { return br.Browse(ctx, ev.fn) })

	// A hostile responder: same service type, garbage TXT. It must be
	// ignored without disturbing the real ones.
	hostile, err := zeroconf.RegisterProxy("evil", discovery.ServiceType, discovery.Domain, 9, "evilhost",
		[]string{"127.0.0.1"}, []string{"pv=1", "aid=a b", "name=\x1b[2J", "fp=zz"}, []net.Interface{lo(t)})
	if err != nil {
		t.Fatalf("hostile RegisterProxy: %v", err)
	}
	defer hostile.Shutdown()

	// Restricted to lo explicitly; the browser finds lo by the loopback-only fallback.
	adv := discovery.NewMDNSAdvertiser(discovery.AdvertiserConfig{Interfaces: []string{"lo"}, Host: "register1", PollInterval: 200 * time.Millisecond, Logger: log})
	stopAdv := run(t, func(ctx context.Context) error {
		return adv.Advertise(ctx, []discovery.Announcement{ann("agent1", "till1", "Till 1", 7443), ann("agent1", "till2", `Till 2 – Café \ "A"`, 7444)})
	})

	wantNames := map[string]string{"till1": "Till 1", "till2": `Till 2 – Café \ "A"`}
	added := map[string]discovery.Service{}
	ev.wait(t, 10*time.Second, "added till1 and till2", func(e discovery.Event) bool {
		if e.Kind == discovery.EventAdded {
			added[e.Service.RegisterID] = e.Service
		}
		return len(added) == len(wantNames)
	})
	for reg, name := range wantNames {
		got := added[reg]
		if got.Name != name {
			t.Errorf("%s name = %q, want %q", reg, got.Name, name)
		}
		if want := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}; !slices.Equal(got.Addrs, want) {
			t.Errorf("%s addrs = %v, want %v", reg, got.Addrs, want)
		}
		if got.Host != "register1.local." {
			t.Errorf("%s host = %q, want %q", reg, got.Host, "register1.local.")
		}
		if got.Instance != "agent1-"+reg {
			t.Errorf("instance = %q, want %q", got.Instance, "agent1-"+reg)
		}
		if got.Fingerprint != fp1 {
			t.Errorf("fingerprint = %q, want %q", got.Fingerprint, fp1)
		}
	}

	// Address change: a new address on the interface is noticed by the
	// advertiser's poll and re-announced.
	if out, err := exec.Command("ip", "addr", "add", "10.9.9.9/32", "dev", "lo").CombinedOutput(); err != nil {
		t.Fatalf("ip addr add: %v: %s", err, out)
	}
	// Re-announcing withdraws the old records first: removed, then added.
	ev.wait(t, 10*time.Second, "goodbye before re-announcement", is(discovery.EventRemoved, "till1"))
	got := ev.wait(t, 10*time.Second, "address change", func(e discovery.Event) bool {
		return e.Kind == discovery.EventAdded && e.Service.RegisterID == "till1" && slices.Contains(e.Service.Addrs, netip.MustParseAddr("10.9.9.9"))
	}).Service
	if got.Port != 7443 || got.Name != "Till 1" {
		t.Errorf("updated service = port %d name %q, want 7443 %q", got.Port, got.Name, "Till 1")
	}

	// Restart: the agent stops (goodbye: removed at once, no timeout) and
	// starts again, now with till1 only.
	stopAdv()
	ev.wait(t, 10*time.Second, "till1 withdrawn", is(discovery.EventRemoved, "till1"))
	restarted := time.Now()
	stopAdv = run(t, func(ctx context.Context) error {
		return adv.Advertise(ctx, []discovery.Announcement{ann("agent1", "till1", "Till 1", 7443)})
	})
	ev.wait(t, 10*time.Second, "re-announcement of till1", is(discovery.EventAdded, "till1"))
	t.Logf("re-announcement seen %v after restart", time.Since(restarted))

	// Goodbye: stopping the advertiser sends TTL-0 records, and the browser
	// reports the register removed.
	stopAdv()
	ev.wait(t, 10*time.Second, "removed till1", is(discovery.EventRemoved, "till1"))
	select {
	case inst := <-goodbyes:
		if !strings.HasPrefix(inst, "agent1-till") {
			t.Errorf("goodbye for %q, want agent1-till*", inst)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("no goodbye packet seen after shutdown")
	}
	stopBrowse()
	hostile.Shutdown()
}

// listenGoodbyes joins the mDNS group on lo and reports the instance names
// of SRV records with TTL 0 (goodbyes) until the test ends.
func listenGoodbyes(t *testing.T) <-chan string {
	t.Helper()
	ifi := lo(t)
	c, err := net.ListenMulticastUDP("udp4", &ifi, &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353})
	if err != nil {
		t.Fatalf("listen mDNS: %v", err)
	}
	out := make(chan string, 100)
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 9000)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			var m dns.Msg
			if m.Unpack(buf[:n]) != nil || !m.Response {
				continue
			}
			for _, rr := range m.Answer {
				if srv, ok := rr.(*dns.SRV); ok && srv.Hdr.Ttl == 0 {
					inst, _, _ := strings.Cut(srv.Hdr.Name, ".")
					select {
					case out <- inst:
					default:
					}
				}
			}
		}
	})
	t.Cleanup(func() { c.Close(); wg.Wait() })
	return out
}

func TestAdvertiseRejectsInvalid(t *testing.T) {
	adv := discovery.NewMDNSAdvertiser(discovery.AdvertiserConfig{Logger: testLogger(t)})
	bad := ann("agent1", "till 1", "Till", 7443) // space in register id
	err := adv.Advertise(t.Context(), []discovery.Announcement{bad})
	if !errors.Is(err, discovery.ErrInvalidRecord) {
		t.Errorf("Advertise(invalid) = %v, want ErrInvalidRecord", err)
	}
	err = adv.Advertise(t.Context(), []discovery.Announcement{ann("a", "b", "c", 0)})
	if !errors.Is(err, discovery.ErrInvalidRecord) {
		t.Errorf("Advertise(port 0) = %v, want ErrInvalidRecord", err)
	}
}
