package discoverytest_test

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/posdisplay/posdisplay/discovery"
	"github.com/posdisplay/posdisplay/discovery/discoverytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFakeNetwork(t *testing.T) {
	n := discoverytest.NewNetwork()
	adv := n.Advertiser("register1", netip.MustParseAddr("10.0.0.5"))
	ann := discovery.Announcement{Record: discovery.Record{ProtocolVersion: 1, AgentID: "a", RegisterID: "r", Name: "Till",
		Fingerprint: "1111111111111111111111111111111111111111111111111111111111111111"}, Port: 7443}

	actx, stopAdv := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { adv.Advertise(actx, []discovery.Announcement{ann}) })
	deadline := time.Now().Add(5 * time.Second)
	for len(n.Services()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}

	events := make(chan discovery.Event, 100)
	bctx, stopBrowse := context.WithCancel(t.Context())
	wg.Go(func() { n.Browser().Browse(bctx, func(ev discovery.Event) { events <- ev }) })

	want := func(kind discovery.EventKind, addr string) {
		t.Helper()
		select {
		case ev := <-events:
			if ev.Kind != kind || ev.Service.Addrs[0].String() != addr || ev.Service.Host != "register1.local." || ev.Service.Instance != "a-r" {
				t.Fatalf("event = %s %+v, want %s at %s", ev.Kind, ev.Service, kind, addr)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %s event", kind)
		}
	}
	want(discovery.EventAdded, "10.0.0.5") // already published before browsing
	adv.SetAddrs(netip.MustParseAddr("10.0.0.6"))
	want(discovery.EventUpdated, "10.0.0.6")
	n.SetPartitioned(true)
	want(discovery.EventRemoved, "10.0.0.6")
	adv.SetAddrs(netip.MustParseAddr("10.0.0.7")) // unseen during the partition
	n.SetPartitioned(false)
	want(discovery.EventAdded, "10.0.0.7")
	stopAdv()
	want(discovery.EventRemoved, "10.0.0.7")
	stopBrowse()
	wg.Wait()
}
