package protocol_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

func TestDecodePoll(t *testing.T) {
	hello := `{"type":"hello","register":"lane-1","token":"dt_3f9a1c","resume":{"epoch":"e1","seq":41}}`
	tests := []struct {
		name     string
		query    string
		body     string
		wantCode string // "" for success
		wantWait time.Duration
	}{
		{name: "default wait", query: "register=lane-1&features=returns", body: hello, wantWait: protocol.MaxPollWait},
		{name: "no query", body: hello, wantWait: protocol.MaxPollWait},
		{name: "short wait", query: "wait=1000", body: hello, wantWait: time.Second},
		{name: "no hold", query: "wait=0", body: hello, wantWait: 0},
		{name: "longest wait", query: "wait=25000", body: hello, wantWait: 25 * time.Second},
		{name: "wait too long", query: "wait=25001", body: hello, wantCode: protocol.CodeBadMessage},
		{name: "wait negative", query: "wait=-1", body: hello, wantCode: protocol.CodeBadMessage},
		{name: "wait not a number", query: "wait=1s", body: hello, wantCode: protocol.CodeBadMessage},
		{name: "wait twice", query: "wait=1&wait=2", body: hello, wantCode: protocol.CodeBadMessage},
		{name: "bad query", query: "wait=%zz", body: hello, wantCode: protocol.CodeBadMessage},
		{name: "other register in query", query: "register=lane-2", body: hello, wantCode: protocol.CodeBadHello},
		{name: "resync body", body: `{"type":"resync"}`, wantCode: protocol.CodeBadHello},
		{name: "empty body", body: ``, wantCode: protocol.CodeBadJSON},
		{name: "not json", body: `hello`, wantCode: protocol.CodeBadJSON},
		{name: "bad register", body: `{"type":"hello","register":"a b"}`, wantCode: protocol.CodeBadHello},
		{name: "long token", body: `{"type":"hello","register":"1","token":"` + strings.Repeat("x", 257) + `"}`, wantCode: protocol.CodeUnauthorized},
		{name: "too large", body: `{"type":"hello","register":"1","pad":"` + strings.Repeat("x", 4096) + `"}`, wantCode: protocol.CodeTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := protocol.DecodePoll(tc.query, []byte(tc.body))
			if tc.wantCode != "" {
				if err == nil || err.Code != tc.wantCode {
					t.Fatalf("DecodePoll: got %+v, %v; want code %s", p, err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodePoll: got %v, want success", err)
			}
			want := protocol.Hello{Type: protocol.TypeHello, Register: "lane-1", Token: "dt_3f9a1c", Resume: &protocol.Position{Epoch: "e1", Seq: 41}}
			if !reflect.DeepEqual(p.Hello, want) || p.Wait != tc.wantWait {
				t.Fatalf("DecodePoll: got %+v wait %v, want %+v wait %v", p.Hello, p.Wait, want, tc.wantWait)
			}
		})
	}
}

const pollGoldenDir = "testdata/golden-poll"

// TestGoldenPoll pins the polling transport's bodies (docs/protocol.md,
// "Polling transport") like TestGolden pins the messages: the request is a
// hello, an answer is an array of the messages the socket would send.
// Refreshed with go test ./register/protocol -update.
func TestGoldenPoll(t *testing.T) {
	resumeAt := protocol.Position{Epoch: pos.Epoch, Seq: 42}
	welcome := &protocol.Welcome{Type: protocol.TypeWelcome, Protocol: protocol.Version, Agent: "store12-till1", Register: "lane-1", Position: resumeAt}
	tea := cart.Line{ID: "l4", Title: "Green tea", Quantity: 1000, UnitPrice: 250, Total: 250}
	cases := []struct {
		name string
		msg  any
	}{
		{"poll_request", &protocol.Hello{Type: protocol.TypeHello, Register: "lane-1", Token: "dt_3f9a1c", Resume: &resumeAt}},
		{"poll_answer_delta", []any{welcome,
			&protocol.Resumed{Type: protocol.TypeResumed, Position: resumeAt},
			&protocol.Delta{Type: protocol.TypeDelta, Position: protocol.Position{Epoch: pos.Epoch, Seq: 43}, Ops: []cart.Op{{Op: cart.OpAdd, Index: 3, ID: "l4", Line: &tea}}},
		}},
		{"poll_answer_idle", []any{welcome, &protocol.Resumed{Type: protocol.TypeResumed, Position: resumeAt}}},
		{"poll_answer_snapshot", []any{welcome, &protocol.Snapshot{Type: protocol.TypeSnapshot, Position: resumeAt, Cart: sampleCart()}}},
		{"poll_error_busy", protocol.NewError(nil, protocol.CodeBusy, "", "this display token has too many polls held already; retry in a second")},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(pollGoldenDir, tc.name+".json")
			seen[tc.name+".json"] = true
			compact, err := json.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := json.Indent(&got, compact, "", "  "); err != nil {
				t.Fatal(err)
			}
			got.WriteByte('\n')
			if *update {
				if err := os.MkdirAll(pollGoldenDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./register/protocol -update to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("Marshal(%T) =\n%s\nwant (%s)\n%s", tc.msg, got.Bytes(), file, want)
			}
			// Read back as a display reads them.
			var back any
			switch msg := tc.msg.(type) {
			case *protocol.Hello:
				p, perr := protocol.DecodePoll("wait=1000", want)
				if perr != nil {
					t.Fatalf("DecodePoll: %v", perr)
				}
				back = &p.Hello
			case []any:
				parts, err := protocol.SplitPollAnswer(want)
				if err != nil || len(parts) != len(msg) {
					t.Fatalf("SplitPollAnswer: got %d messages, %v; want %d", len(parts), err, len(msg))
				}
				var all []any
				for _, part := range parts {
					all = append(all, decodeServer(t, part))
				}
				back = all
			default:
				back = decodeServer(t, want)
			}
			if !reflect.DeepEqual(back, tc.msg) {
				t.Errorf("decoding %s = %+v, want %+v", file, back, tc.msg)
			}
		})
	}
	entries, err := os.ReadDir(pollGoldenDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !seen[e.Name()] {
			t.Errorf("%s/%s is not produced by any case: delete it or add one", pollGoldenDir, e.Name())
		}
	}
}

// FuzzDecodePoll: any query and body either decode to a poll the hub can
// serve (a valid register, a token within its limit, a wait within the
// bound, and the hello re-encodes to the same request) or to an error with
// a code; never a panic.
func FuzzDecodePoll(f *testing.F) {
	f.Add("register=lane-1&features=returns&wait=1000", []byte(`{"type":"hello","register":"lane-1","token":"dt_3f9a1c","resume":{"epoch":"e1","seq":41}}`))
	f.Add("", []byte(`{"type":"hello","register":"1"}`))
	f.Add("wait=0", []byte(`{"type":"hello","register":"1","resume":null}`))
	f.Add("wait=99999999999", []byte(`{"type":"resync"}`))
	f.Add("register=1&register=1", []byte(`{"type":"hello","register":"1","token":"\u00e9"}`))
	f.Fuzz(func(t *testing.T, query string, body []byte) {
		p, err := protocol.DecodePoll(query, body)
		if err != nil {
			if err.Code == "" || err.Type != protocol.TypeError {
				t.Fatalf("error without code: %+v", err)
			}
			return
		}
		if !cart.ValidID(p.Hello.Register) || len(p.Hello.Token) > protocol.MaxTokenLen || p.Wait < 0 || p.Wait > protocol.MaxPollWait {
			t.Fatalf("DecodePoll(%q, %q) accepted %+v", query, body, p)
		}
		again, _ := json.Marshal(p.Hello)
		q, err := protocol.DecodePoll("", again)
		if err != nil || !reflect.DeepEqual(q.Hello, p.Hello) {
			t.Fatalf("re-encoded hello %s: got %+v, %v; want %+v", again, q.Hello, err, p.Hello)
		}
	})
}
