package discovery_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/discovery"
	"github.com/posdisplay/posdisplay/discovery/discoverytest"
)

const fpRogue = "2222222222222222222222222222222222222222222222222222222222222222"

// memStore is an AddrStore in memory that can be made to fail.
type memStore struct {
	addr    string
	loadErr error
	saves   []string
}

func (m *memStore) Load() (string, error) { return m.addr, m.loadErr }
func (m *memStore) Save(a string) error   { m.addr = a; m.saves = append(m.saves, a); return nil }

func addrs(t *testing.T, tr *discovery.Tracker) []string {
	t.Helper()
	var out []string
	for _, c := range tr.Candidates() {
		out = append(out, c.Source.String()+" "+c.Addr)
	}
	return out
}

// waitCandidates waits until the tracker's candidates equal want.
func waitCandidates(t *testing.T, tr *discovery.Tracker, want ...string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		got := addrs(t, tr)
		if slices.Equal(got, want) {
			return
		}
		select {
		case <-tr.Changed():
		case <-deadline:
			t.Fatalf("candidates = %q, want %q", got, want)
		}
	}
}

func TestTrackerFollowsPairedRegister(t *testing.T) {
	net := discoverytest.NewNetwork()
	store := &memStore{}
	tr, err := discovery.NewTracker(discovery.TrackerConfig{
		Pairing:  &discovery.Pairing{Key: discovery.Key{AgentID: "agent1", RegisterID: "till1"}, Fingerprint: fp1},
		Fallback: "wss://192.0.2.50:7443/display",
		Store:    store,
		Logger:   testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	stopTrack := run(t, func(ctx context.Context) error { return tr.Run(ctx, net.Browser()) })

	// Nothing seen yet: only the fallback.
	waitCandidates(t, tr, "fallback 192.0.2.50:7443")

	adv := net.Advertiser("register1", netip.MustParseAddr("10.0.0.5"))
	stopAdv := run(t, func(ctx context.Context) error {
		return adv.Advertise(ctx, []discovery.Announcement{ann("agent1", "till1", "Till 1", 7443), ann("agent1", "till2", "Till 2", 7444)})
	})
	waitCandidates(t, tr, "announcement 10.0.0.5:7443", "fallback 192.0.2.50:7443")
	if svc, ok := tr.Paired(); !ok || svc.RegisterID != "till1" {
		t.Errorf("Paired() = %v, %v, want till1, true", svc.Key(), ok)
	}
	// Both announcements are published together but delivered one by one.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		got := tr.Unpaired()
		if len(got) == 1 && got[0].RegisterID == "till2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Unpaired() = %v, want [till2]", got)
		}
	}

	// The screen connected: remember the address.
	if err := tr.MarkGood("10.0.0.5:7443"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.0.0.5:7443"}; !slices.Equal(store.saves, want) {
		t.Errorf("saved = %q, want %q", store.saves, want)
	}
	tr.MarkGood("10.0.0.5:7443") // unchanged: not saved again
	if len(store.saves) != 1 {
		t.Errorf("saved %d times, want 1", len(store.saves))
	}

	// The agent moves: follow it; the old address stays as last good.
	adv.SetAddrs(netip.MustParseAddr("10.0.0.9"), netip.MustParseAddr("fd00::9"))
	waitCandidates(t, tr, "announcement 10.0.0.9:7443", "announcement [fd00::9]:7443", "last-good 10.0.0.5:7443", "fallback 192.0.2.50:7443")

	// A rogue announcing our register with another certificate comes after
	// the genuine one and is marked as not matching the pin.
	rogue := discovery.Service{
		Record:   discovery.Record{ProtocolVersion: 1, AgentID: "agent1", RegisterID: "till1", Name: "Till 1", Fingerprint: fpRogue},
		Instance: "agent1-till1 (2)", Host: "evil.local.", Port: 7443, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.66")},
	}
	net.Publish(rogue)
	waitCandidates(t, tr, "announcement 10.0.0.9:7443", "announcement [fd00::9]:7443", "announcement 10.0.0.66:7443", "last-good 10.0.0.5:7443", "fallback 192.0.2.50:7443")
	for _, c := range tr.Candidates() {
		if want := c.Addr != "10.0.0.66:7443" && c.Source == discovery.FromAnnouncement; c.PinMatches != want {
			t.Errorf("candidate %s PinMatches = %v, want %v", c.Addr, c.PinMatches, want)
		}
	}
	net.Withdraw(rogue.Instance)

	// The agent goes away: last good, then fallback.
	stopAdv()
	waitCandidates(t, tr, "last-good 10.0.0.5:7443", "fallback 192.0.2.50:7443")
	if _, ok := tr.Paired(); ok {
		t.Errorf("Paired() ok after the register left, want false")
	}

	// A new tracker (restart) loads the last good address from the store.
	tr2, err := discovery.NewTracker(discovery.TrackerConfig{
		Pairing: &discovery.Pairing{Key: discovery.Key{AgentID: "agent1", RegisterID: "till1"}, Fingerprint: fp1},
		Store:   store,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := addrs(t, tr2), []string{"last-good 10.0.0.5:7443"}; !slices.Equal(got, want) {
		t.Errorf("after restart candidates = %q, want %q", got, want)
	}
	stopTrack()
}

func TestTrackerPartitionAndPairing(t *testing.T) {
	net := discoverytest.NewNetwork()
	tr, err := discovery.NewTracker(discovery.TrackerConfig{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	run(t, func(ctx context.Context) error { return tr.Run(ctx, net.Browser()) })
	adv := net.Advertiser("register1", netip.MustParseAddr("10.0.0.5"))
	run(t, func(ctx context.Context) error {
		return adv.Advertise(ctx, []discovery.Announcement{ann("agent1", "till2", "B till", 7444), ann("agent1", "till1", "A till", 7443)})
	})
	waitUnpaired := func(want ...string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			var got []string
			for _, s := range tr.Unpaired() {
				got = append(got, s.Name)
			}
			if slices.Equal(got, want) {
				return
			}
			select {
			case <-tr.Changed():
			case <-deadline:
				t.Fatalf("Unpaired names = %q, want %q", got, want)
			}
		}
	}
	// Unpaired display: every register listed by name, no candidates.
	waitUnpaired("A till", "B till")
	if got := tr.Candidates(); len(got) != 0 {
		t.Errorf("unpaired Candidates() = %v, want none", got)
	}

	tr.SetPairing(&discovery.Pairing{Key: discovery.Key{AgentID: "agent1", RegisterID: "till2"}, Fingerprint: fp1})
	waitUnpaired("A till")
	waitCandidates(t, tr, "announcement 10.0.0.5:7444")

	net.SetPartitioned(true)
	waitUnpaired()
	waitCandidates(t, tr)
	net.SetPartitioned(false)
	waitUnpaired("A till")
	waitCandidates(t, tr, "announcement 10.0.0.5:7444")
}

func TestParseFallback(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"192.0.2.1:7443", "192.0.2.1:7443", false},
		{"register1.example:7443", "register1.example:7443", false},
		{"wss://192.0.2.1:9000/display", "192.0.2.1:9000", false},
		{"wss://register1.example/display", "register1.example:443", false},
		{"ws://[fd00::1]/x", "[fd00::1]:80", false},
		{"192.0.2.1", "", true},
		{"ftp://host/", "", true},
		{"wss:///nohost", "", true},
		{":7443", "", true},
	}
	for _, tt := range tests {
		got, err := discovery.ParseFallback(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseFallback(%q) = %q, %v, want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestAddrFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "last-good")
	f := discovery.AddrFile(path)
	if got, err := f.Load(); got != "" || err != nil {
		t.Fatalf("Load() of missing file = %q, %v, want \"\", nil", got, err)
	}
	if err := f.Save("[fd00::9]:7443"); err != nil {
		t.Fatal(err)
	}
	if got, err := f.Load(); got != "[fd00::9]:7443" || err != nil {
		t.Errorf("Load() = %q, %v, want %q", got, err, "[fd00::9]:7443")
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, %v, want 0600", fi.Mode().Perm(), err)
	}
	// A garbage file is ignored by the tracker, not fatal.
	os.WriteFile(path, []byte("garbage"), 0o600)
	tr, err := discovery.NewTracker(discovery.TrackerConfig{Pairing: &discovery.Pairing{Key: discovery.Key{AgentID: "a", RegisterID: "b"}}, Store: f})
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Candidates(); len(got) != 0 {
		t.Errorf("candidates with garbage store = %v, want none", got)
	}
	if err := tr.MarkGood("not an address"); err == nil {
		t.Errorf("MarkGood(garbage) = nil, want error")
	}
	_, err = discovery.NewTracker(discovery.TrackerConfig{Store: &memStore{loadErr: errors.New("disk on fire")}})
	if err != nil {
		t.Errorf("NewTracker with failing store = %v, want nil (logged)", err)
	}
}
