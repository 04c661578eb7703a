package enroll_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/posdisplay/posdisplay/display/enroll"
	"github.com/posdisplay/posdisplay/register/pairing/pairwire"
	"github.com/posdisplay/posdisplay/register/tlsid"
)

// v1OpenRequest is POST /v1/pair's body as pairing version 1 agents
// decode it: register/pairing/http.go before the key (decode() with
// DisallowUnknownFields, into OpenRequest{Name}).
type v1OpenRequest struct {
	Name string `json:"name"`
}

// TestKeyedRequestToAVersion1Agent: a version 1 agent refuses the key as
// bad_json; the screen asks again without it and gets its code.
func TestKeyedRequestToAVersion1Agent(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var raw json.RawMessage
		_ = json.NewDecoder(r.Body).Decode(&raw)
		mu.Lock()
		bodies = append(bodies, string(raw))
		mu.Unlock()
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		var req v1OpenRequest
		w.Header().Set("Content-Type", "application/json")
		if err := dec.Decode(&req); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(pairwire.ErrorResponse{Code: pairwire.CodeBadJSON, Message: "body must be a JSON object: " + err.Error()})
			return
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(pairwire.OpenResponse{Request: "9f2c4e1a7b3d5e60", Secret: "5b0e8c1d2f3a4b5c6d7e8f9a0b1c2d3e",
			Code: "7K3M-Q9TX", ExpiresIn: 600, Agent: "till", Fingerprint: tlsid.Fingerprint(srv.Certificate())})
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	p, err := enroll.Request(context.Background(), addr, enroll.Screen{Name: "vm", Key: "0123456789abcdef0123456789abcdef"}, "")
	if err != nil {
		t.Fatalf("keyed request to a version 1 agent: %v", err)
	}
	if p.Code != "7K3M-Q9TX" {
		t.Fatalf("code %q", p.Code)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{`{"name":"vm","key":"0123456789abcdef0123456789abcdef"}`, `{"name":"vm"}`}
	if strings.Join(bodies, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(bodies, "\n"), strings.Join(want, "\n"))
	}
}

// TestScreenKeyIsKept: made once, the same on every later call, replaced
// only when the file holds no valid key.
func TestScreenKeyIsKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), enroll.KeyFile)
	k1, err := enroll.LoadOrCreateKey(path)
	if err != nil || !pairwire.ValidKey(k1) || len(k1) != 32 {
		t.Fatalf("new key %q: %v", k1, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	if k2, err := enroll.LoadOrCreateKey(path); err != nil || k2 != k1 {
		t.Fatalf("second call: %q %v, want %q", k2, err, k1)
	}
	os.WriteFile(path, []byte("garbage\n"), 0o600)
	if k3, err := enroll.LoadOrCreateKey(path); err != nil || k3 == k1 || !pairwire.ValidKey(k3) {
		t.Fatalf("after garbage: %q %v", k3, err)
	}
}
