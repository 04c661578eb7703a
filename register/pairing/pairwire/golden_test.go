package pairwire_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/posdisplay/posdisplay/register/pairing/pairwire"
)

// update rewrites the golden files: go test ./register/pairing/pairwire -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const goldenDir = "testdata/golden"

// goldenCases are one example of every pairing message, as the agent and the
// screen encode them; docs/protocol.md quotes them.
func goldenCases() map[string]any {
	return map[string]any{
		"open_request":    pairwire.OpenRequest{Name: "Lane 1 customer screen", Key: "5d41402abc4b2a76b9719d911017c592"},
		"open_request_v1": pairwire.OpenRequest{Name: "Lane 1 customer screen"},
		"open_response": pairwire.OpenResponse{Request: "9f2c4e1a7b3d5e60", Secret: "5b0e8c1d2f3a4b5c6d7e8f9a0b1c2d3e",
			Code: "7K3M-Q9TX", ExpiresIn: 600, Agent: "store12-till1", Pairing: pairwire.Version,
			Fingerprint: "3b1f0c4e5d6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e"},
		"poll_pending": pairwire.PollResponse{Status: pairwire.StatusPending},
		"poll_approved": pairwire.PollResponse{Status: pairwire.StatusApproved, Display: "d-4f1a9c", Register: "lane-1",
			Token: "dt_3f9a1c5e7b2d4f6a8c0e1b3d5f7a9c2e", Agent: "store12-till1",
			Fingerprint: "3b1f0c4e5d6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e"},
		"error_expired": pairwire.ErrorResponse{Code: pairwire.CodeExpired, Message: "unknown or expired pairing request: start again"},
	}
}

func TestGolden(t *testing.T) {
	seen := map[string]bool{}
	for name, msg := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(goldenDir, name+".json")
			seen[name+".json"] = true
			compact, err := json.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := json.Indent(&got, compact, "", "  "); err != nil {
				t.Fatal(err)
			}
			got.WriteByte('\n')
			if *update {
				if err := os.WriteFile(file, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./register/pairing/pairwire -update to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("Marshal(%T) =\n%s\nwant (%s)\n%s", msg, got.Bytes(), file, want)
			}
			// Every field of the golden file is known: decoding strictly
			// gives the example back.
			back := reflect.New(reflect.TypeOf(msg))
			dec := json.NewDecoder(bytes.NewReader(want))
			dec.DisallowUnknownFields()
			if err := dec.Decode(back.Interface()); err != nil {
				t.Fatalf("decoding %s: %v", file, err)
			}
			if !reflect.DeepEqual(back.Elem().Interface(), msg) {
				t.Errorf("decoding %s = %+v, want %+v", file, back.Elem().Interface(), msg)
			}
		})
	}
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !seen[e.Name()] {
			t.Errorf("%s/%s is not produced by any golden case: delete it or add a case", goldenDir, e.Name())
		}
	}
}

func TestNormalizeCode(t *testing.T) {
	for in, want := range map[string]string{
		"7K3M-Q9TX":      "7K3MQ9TX",
		"7k3m q9tx":      "7K3MQ9TX",
		"ol1i-0000":      "0111" + "0000",
		"7K3M-Q9TU":      "", // U is not in the alphabet
		"7K3M-Q9T\u00dc": "",
	} {
		if got := pairwire.NormalizeCode(in); got != want {
			t.Errorf("NormalizeCode(%q) = %q, want %q", in, got, want)
		}
	}
}
