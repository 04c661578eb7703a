package pairing

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/clock/clocktest"
)

func TestRegistryPersistsHashesOnly(t *testing.T) {
	dir := t.TempDir()
	r, err := OpenRegistry(dir, []string{"1", "2"})
	if err != nil {
		t.Fatal(err)
	}
	d, tok, err := r.Add("Lane 2", "2", "provisioned")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Add("x", "9", "code"); err == nil {
		t.Fatal("unknown register accepted")
	}
	if _, _, err := r.Add("bad\nname", "1", "code"); err == nil {
		t.Fatal("control character in name accepted")
	}
	data, _ := os.ReadFile(filepath.Join(dir, DisplaysFile))
	if strings.Contains(string(data), tok) {
		t.Fatal("token stored in clear")
	}
	st, _ := os.Stat(filepath.Join(dir, DisplaysFile))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("displays.json mode %v, want 0600", st.Mode().Perm())
	}
	r2, err := OpenRegistry(dir, []string{"1", "2"})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := r2.Authorize(tok, "2"); err != nil || id != d.ID {
		t.Fatalf("after reload: got %q %v", id, err)
	}
	for _, tc := range []struct{ tok, reg string }{{tok, "1"}, {"", "2"}, {tok + "x", "2"}} {
		if _, err := r2.Authorize(tc.tok, tc.reg); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("Authorize(%q, %q): got %v, want ErrUnauthorized", tc.tok, tc.reg, err)
		}
	}
	if _, err := r2.Revoke(d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Revoke(d.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second revoke: got %v", err)
	}
	if _, err := r2.Authorize(tok, "2"); err == nil {
		t.Fatal("revoked token still works")
	}
	os.WriteFile(filepath.Join(dir, DisplaysFile), []byte("{"), 0o600)
	if _, err := OpenRegistry(dir, []string{"1"}); err == nil {
		t.Fatal("corrupt displays.json accepted")
	}
}

func TestCodesExpireAndUncollectedPairingsAreUndone(t *testing.T) {
	c := clocktest.New(time.Unix(1_800_000_000, 0))
	r, _ := OpenRegistry(t.TempDir(), []string{"1"})
	p := NewPairer(r, PairerOptions{Clock: c.Now})
	req, err := p.Open(Screen{Name: "Screen"}, "10.0.0.5")
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(CodeTTL + time.Second)
	if _, err := p.Approve(req.Code, ""); !errors.Is(err, ErrBadCode) {
		t.Fatalf("expired code: got %v, want ErrBadCode", err)
	}
	if _, err := p.Poll(req.ID, req.Secret); !errors.Is(err, ErrUnknown) {
		t.Fatalf("expired poll: got %v", err)
	}
	req, _ = p.Open(Screen{Name: "Screen"}, "10.0.0.5")
	if _, err := p.Poll(req.ID, "wrong-secret"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("wrong secret: got %v", err)
	}
	d, err := p.Approve(req.Code, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.List()) != 1 {
		t.Fatal("approved display not listed")
	}
	// The screen never collects its token: the pairing is undone.
	c.Advance(CodeTTL + time.Second)
	p.Pending()
	if len(r.List()) != 0 {
		t.Fatalf("uncollected pairing %s still listed", d.ID)
	}
}

func TestLockoutWindow(t *testing.T) {
	c := clocktest.New(time.Unix(1_800_000_000, 0))
	r, _ := OpenRegistry(t.TempDir(), []string{"1"})
	p := NewPairer(r, PairerOptions{Clock: c.Now})
	req, _ := p.Open(Screen{Name: "Screen"}, "10.0.0.5")
	// Failures spread wider than the window never lock.
	for i := 0; i < 3*MaxFailures; i++ {
		if _, err := p.Approve("ZZZZ-ZZZZ", ""); !errors.Is(err, ErrBadCode) {
			t.Fatalf("spread failure %d: got %v", i, err)
		}
		c.Advance(FailureWindow / time.Duration(MaxFailures-1))
	}
	req, _ = p.Open(Screen{Name: "Screen"}, "10.0.0.5") // the first one expired meanwhile
	for i := 0; i < MaxFailures-1; i++ {
		p.Approve("ZZZZ-ZZZZ", "")
	}
	if _, err := p.Approve("ZZZZ-ZZZZ", ""); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("burst: got %v, want ErrLockedOut", err)
	}
	if _, err := p.Approve(req.Code, ""); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("right code while locked: got %v", err)
	}
	c.Advance(Lockout + time.Second)
	p.Poll(req.ID, req.Secret) // its screen is still waiting
	if _, err := p.Approve(req.Code, ""); err != nil {
		t.Fatalf("after lockout: %v", err)
	}
}

// A code whose screen restarted is refused without creating a display,
// and a code approved twice names the pairing it made; neither counts
// toward the lockout.
func TestStaleAndReusedCodes(t *testing.T) {
	c := clocktest.New(time.Unix(1_800_000_000, 0))
	r, _ := OpenRegistry(t.TempDir(), []string{"1"})
	p := NewPairer(r, PairerOptions{Clock: c.Now})
	old, _ := p.Open(Screen{Name: "Screen"}, "10.0.0.5")
	c.Advance(StaleAfter + time.Second) // the screen restarted: nobody polls old
	if _, err := p.Approve(old.Code, ""); !errors.Is(err, ErrStaleCode) {
		t.Fatalf("stale code: got %v, want ErrStaleCode", err)
	}
	if n := len(r.List()); n != 0 {
		t.Fatalf("stale approval left %d displays, want 0", n)
	}

	req, _ := p.Open(Screen{Name: "Screen"}, "10.0.0.5")
	c.Advance(StaleAfter / 2)
	if _, err := p.Poll(req.ID, req.Secret); err != nil {
		t.Fatal(err)
	}
	c.Advance(StaleAfter / 2)
	d, err := p.Approve(req.Code, "")
	if err != nil {
		t.Fatalf("live code: %v", err)
	}
	if _, err := p.Poll(req.ID, req.Secret); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < MaxFailures; i++ {
		_, err := p.Approve(strings.ToLower(req.Code), "")
		var ap *AlreadyPairedError
		if !errors.As(err, &ap) || ap.Display.ID != d.ID {
			t.Fatalf("re-used code %d: got %v, want AlreadyPairedError for %s", i, err, d.ID)
		}
	}
	// Neither the stale nor the re-used attempts locked approval.
	next, _ := p.Open(Screen{Name: "Screen 2"}, "10.0.0.6")
	if _, err := p.Approve(next.Code, ""); err != nil {
		t.Fatalf("after stale and re-used codes: %v", err)
	}
}

func TestNormalizeCode(t *testing.T) {
	for in, want := range map[string]string{
		"ABCD-EFGH": "ABCDEFGH", "abcd efgh": "ABCDEFGH", "o1il-0000": "01110000", "ABCD-EFG!": "", "ÄBCD": "",
	} {
		if got := NormalizeCode(in); got != want {
			t.Errorf("NormalizeCode(%q): got %q, want %q", in, got, want)
		}
	}
	for i := 0; i < 100; i++ {
		c := newCode()
		if len(c) != 9 || c[4] != '-' || NormalizeCode(c) != strings.ReplaceAll(c, "-", "") {
			t.Fatalf("newCode: %q", c)
		}
	}
}

func TestNeedRegisterWhenSeveral(t *testing.T) {
	r, _ := OpenRegistry(t.TempDir(), []string{"1", "2"})
	p := NewPairer(r, PairerOptions{})
	req, _ := p.Open(Screen{Name: "Screen"}, "ip")
	if _, err := p.Approve(req.Code, ""); !errors.Is(err, ErrNeedRegister) {
		t.Fatalf("got %v, want ErrNeedRegister", err)
	}
	d, err := p.Approve(req.Code, "2")
	if err != nil || d.Register != "2" {
		t.Fatalf("got %+v %v", d, err)
	}
}

// TestSameScreenReplacesItsEntry: a screen that pairs again (same key)
// replaces its earlier entries, on any register, and only those; screens
// without a key replace nothing; a malformed key is refused.
func TestSameScreenReplacesItsEntry(t *testing.T) {
	dir := t.TempDir()
	r, _ := OpenRegistry(dir, []string{"1", "2"})
	p := NewPairer(r, PairerOptions{})
	n := 0
	pair := func(s Screen, register string) Approval {
		t.Helper()
		n++ // approved requests count as pending until collected: one address each
		req, err := p.Open(s, fmt.Sprintf("10.0.0.%d", n))
		if err != nil {
			t.Fatal(err)
		}
		a, err := p.Approve(req.Code, register)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	key := "0123456789abcdef0123456789abcdef"
	first := pair(Screen{Name: "vm", Key: key}, "1")
	other := pair(Screen{Name: "vm", Key: "fedcba9876543210fedcba9876543210"}, "1")
	keyless := pair(Screen{Name: "vm"}, "1")
	again := pair(Screen{Name: "vm", Key: key}, "2")
	if len(again.Replaced) != 1 || again.Replaced[0].ID != first.ID {
		t.Fatalf("pairing again replaced %+v, want only %s", again.Replaced, first.ID)
	}
	if len(keyless.Replaced) != 0 || len(other.Replaced) != 0 {
		t.Fatalf("replaced without a matching key: %+v %+v", keyless.Replaced, other.Replaced)
	}
	r2, _ := OpenRegistry(dir, []string{"1", "2"})
	var ids []string
	for _, d := range r2.List() {
		ids = append(ids, d.ID)
	}
	if want := []string{other.ID, keyless.ID, again.ID}; !sameSet(ids, want) {
		t.Fatalf("saved displays %v, want %v", ids, want)
	}
	if d := again.Display; d.ScreenKey != key || d.Addr != "10.0.0.4" || d.Register != "2" {
		t.Fatalf("new entry %+v, want key, pairing address and register 2", d)
	}
	for _, bad := range []string{"short", strings.Repeat("a", 65), "0123456789abcdef/123"} {
		if _, err := p.Open(Screen{Name: "vm", Key: bad}, "10.0.0.5"); !errors.Is(err, ErrBadKey) {
			t.Errorf("key %q: got %v, want ErrBadKey", bad, err)
		}
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestLastSeenIsSavedInBatches: Seen changes memory only, SaveSeen writes
// it (once), and any other save carries it too.
func TestLastSeenIsSavedInBatches(t *testing.T) {
	dir := t.TempDir()
	r, _ := OpenRegistry(dir, []string{"1"})
	d, _, _ := r.Add("Tablet", "1", "provisioned")
	at := time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC)
	r.Seen(d.ID, "10.0.0.7", at)
	r.Seen("static-token-display", "10.0.0.8", at) // not in the registry: ignored
	reload := func() Display {
		t.Helper()
		r2, err := OpenRegistry(dir, []string{"1"})
		if err != nil || len(r2.List()) != 1 {
			t.Fatalf("reload: %v %+v", err, r2.List())
		}
		return r2.List()[0]
	}
	if got := reload(); !got.LastSeen.IsZero() {
		t.Fatalf("Seen wrote the file: %+v", got)
	}
	if err := r.SaveSeen(); err != nil {
		t.Fatal(err)
	}
	if got := reload(); !got.LastSeen.Equal(at) || got.Addr != "10.0.0.7" {
		t.Fatalf("after SaveSeen: got %v from %q, want %v from 10.0.0.7", got.LastSeen, got.Addr, at)
	}
	// Nothing new: no write (the file's mtime stays).
	st, _ := os.Stat(filepath.Join(dir, DisplaysFile))
	os.Chtimes(filepath.Join(dir, DisplaysFile), st.ModTime().Add(-time.Hour), st.ModTime().Add(-time.Hour))
	if err := r.SaveSeen(); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(filepath.Join(dir, DisplaysFile)); !st2.ModTime().Equal(st.ModTime().Add(-time.Hour)) {
		t.Fatal("SaveSeen wrote with nothing new")
	}
	r.Seen(d.ID, "", at.Add(time.Minute)) // "": keep the address
	if _, _, err := r.Add("Other", "1", "provisioned"); err != nil {
		t.Fatal(err)
	}
	r2, _ := OpenRegistry(dir, []string{"1"})
	for _, got := range r2.List() {
		if got.ID == d.ID && (!got.LastSeen.Equal(at.Add(time.Minute)) || got.Addr != "10.0.0.7") {
			t.Fatalf("another save dropped Seen: %+v", got)
		}
	}
}
