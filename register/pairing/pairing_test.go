package pairing

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/clock/clocktest"
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
	req, err := p.Open("Screen", "10.0.0.5")
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
	req, _ = p.Open("Screen", "10.0.0.5")
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
	req, _ := p.Open("Screen", "10.0.0.5")
	// Failures spread wider than the window never lock.
	for i := 0; i < 3*MaxFailures; i++ {
		if _, err := p.Approve("ZZZZ-ZZZZ", ""); !errors.Is(err, ErrBadCode) {
			t.Fatalf("spread failure %d: got %v", i, err)
		}
		c.Advance(FailureWindow / time.Duration(MaxFailures-1))
	}
	req, _ = p.Open("Screen", "10.0.0.5") // the first one expired meanwhile
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
	old, _ := p.Open("Screen", "10.0.0.5")
	c.Advance(StaleAfter + time.Second) // the screen restarted: nobody polls old
	if _, err := p.Approve(old.Code, ""); !errors.Is(err, ErrStaleCode) {
		t.Fatalf("stale code: got %v, want ErrStaleCode", err)
	}
	if n := len(r.List()); n != 0 {
		t.Fatalf("stale approval left %d displays, want 0", n)
	}

	req, _ := p.Open("Screen", "10.0.0.5")
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
	next, _ := p.Open("Screen 2", "10.0.0.6")
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
	req, _ := p.Open("Screen", "ip")
	if _, err := p.Approve(req.Code, ""); !errors.Is(err, ErrNeedRegister) {
		t.Fatalf("got %v, want ErrNeedRegister", err)
	}
	d, err := p.Approve(req.Code, "2")
	if err != nil || d.Register != "2" {
		t.Fatalf("got %+v %v", d, err)
	}
}
