//go:build linux

package enroll_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posdisplay/posdisplay/display/enroll"
	"github.com/posdisplay/posdisplay/register/pairing/pairwire"
)

func TestRequestChecksTheAnnouncedCertificate(t *testing.T) {
	dir := t.TempDir()
	a := startAgent(t, dir, false)
	defer a.stop()
	addr := a.DisplayAddr().String()
	ctx := context.Background()
	wrong := strings.Repeat("ab", 32)
	if _, err := enroll.Request(ctx, addr, enroll.Screen{Name: "Screen"}, wrong); !errors.Is(err, enroll.ErrFingerprintMismatch) {
		t.Fatalf("announced another certificate: got %v, want ErrFingerprintMismatch", err)
	}
	p, err := enroll.Request(ctx, addr, enroll.Screen{Name: "Screen"}, a.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	if p.Fingerprint != a.Fingerprint() || len(p.Code) != 9 {
		t.Fatalf("pending: %+v", p)
	}
	// Configured by hand (no announcement): the pin is learned from the
	// handshake and must match what the agent says about itself.
	p, err = enroll.Request(ctx, addr, enroll.Screen{Name: "Screen"}, "")
	if err != nil || p.Fingerprint != a.Fingerprint() {
		t.Fatalf("no announcement: %+v %v", p, err)
	}
	if _, err := enroll.Request(ctx, "no-port", enroll.Screen{Name: "Screen"}, ""); err == nil {
		t.Fatal("bad address accepted")
	}
}

func TestCredentialsFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pairing.json")
	if _, err := enroll.Load(p); !errors.Is(err, enroll.ErrNotPaired) {
		t.Fatalf("missing file: got %v, want ErrNotPaired", err)
	}
	c := enroll.Credentials{AgentID: "till", Register: "1", DisplayID: "d-1", Token: "tok", Fingerprint: strings.Repeat("0f", 32), Addr: "10.0.0.2:7422"}
	if err := enroll.Save(p, c); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	got, err := enroll.Load(p)
	if err != nil || *got != c {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range []string{"{", `{"agent":"till","register":"1","token":"t","fingerprint":"xyz"}`, `{"agent":"a b","register":"1","token":"t","fingerprint":"` + strings.Repeat("0f", 32) + `"}`} {
		os.WriteFile(p, []byte(bad), 0o600)
		if _, err := enroll.Load(p); err == nil || errors.Is(err, enroll.ErrNotPaired) {
			t.Errorf("Load(%s): got %v, want a corrupt-file error", bad, err)
		}
	}
}

func TestValidOpenRejectsHostileAnswers(t *testing.T) {
	good := pairwire.OpenResponse{Request: "0123456789abcdef", Secret: strings.Repeat("ab", 16), Code: "ABCD-EFGH", Agent: "till"}
	if err := enroll.ValidOpenForTest(good); err != nil {
		t.Fatalf("good answer: %v", err)
	}
	for name, edit := range map[string]func(o *pairwire.OpenResponse){
		"code with controls": func(o *pairwire.OpenResponse) { o.Code = "AB\x1b[2JCD" },
		"long code":          func(o *pairwire.OpenResponse) { o.Code = strings.Repeat("A", 4000) },
		"path in request":    func(o *pairwire.OpenResponse) { o.Request = "../../v1/admin/displays" },
		"header in secret":   func(o *pairwire.OpenResponse) { o.Secret = "ab\r\nX-Evil: 1" },
		"agent with spaces":  func(o *pairwire.OpenResponse) { o.Agent = "a b" },
	} {
		o := good
		edit(&o)
		if err := enroll.ValidOpenForTest(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
