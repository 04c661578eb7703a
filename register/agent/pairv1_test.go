package agent

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/posdisplay/posdisplay/register/protocol"
)

// Pairing protocol version 1 as the first screens shipped it, frozen here
// on purpose (not imported from pairwire): screens in stores keep this
// code while store IT upgrades the agent. They decode answers leniently
// (encoding/json ignores fields added later).
type (
	v1OpenResponse struct {
		Request     string `json:"request"`
		Secret      string `json:"secret"`
		Code        string `json:"code"`
		ExpiresIn   int    `json:"expires_in"`
		Agent       string `json:"agent"`
		Fingerprint string `json:"fingerprint"`
	}
	v1PollResponse struct {
		Status      string `json:"status"`
		Display     string `json:"display"`
		Register    string `json:"register"`
		Token       string `json:"token"`
		Agent       string `json:"agent"`
		Fingerprint string `json:"fingerprint"`
	}
)

// TestPairingV1ScreenPairs: a screen speaking only version 1 of the
// pairing protocol, sending the golden request bytes, pairs with this agent
// and then connects as a version 1 display (token only in its hello).
func TestPairingV1ScreenPairs(t *testing.T) {
	e := startTLS(t)
	openBody, err := os.ReadFile("../pairing/pairwire/testdata/golden/open_request.json")
	if err != nil {
		t.Fatal(err)
	}
	post := func(url string, body []byte) (int, []byte) {
		resp, err := e.insecure.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	get := func(url, bearer string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := e.insecure.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	st, body := post(e.displayBase()+"/v1/pair", openBody)
	var o v1OpenResponse
	if err := json.Unmarshal(body, &o); st != http.StatusCreated || err != nil {
		t.Fatalf("v1 open: %d %s (%v), want 201", st, body, err)
	}
	if o.Request == "" || o.Secret == "" || len(o.Code) != 9 || o.ExpiresIn <= 0 || o.Agent != "test-agent" || o.Fingerprint != e.seenFP {
		t.Fatalf("v1 open answer lacks a v1 field: %s", body)
	}
	st, body = get(e.displayBase()+"/v1/pair/"+o.Request, o.Secret)
	var p v1PollResponse
	if err := json.Unmarshal(body, &p); st != http.StatusOK || err != nil || p.Status != "pending" {
		t.Fatalf("v1 poll before approval: %d %s, want 200 pending", st, body)
	}
	if st, er := e.approve(o.Code); st != http.StatusOK {
		t.Fatalf("approve: %d %+v", st, er)
	}
	st, body = get(e.displayBase()+"/v1/pair/"+o.Request, o.Secret)
	if err := json.Unmarshal(body, &p); st != http.StatusOK || err != nil || p.Status != "approved" ||
		p.Token == "" || p.Register != "1" || p.Display == "" || p.Agent != "test-agent" || !strings.EqualFold(p.Fingerprint, o.Fingerprint) {
		t.Fatalf("v1 poll after approval: %d %s", st, body)
	}
	ws, err := dialPinned(t, e.r.DisplayAddr().String(), p.Fingerprint, p.Token)
	if err != nil {
		t.Fatalf("v1 display: %v", err)
	}
	var w protocol.Welcome
	readJSON(t, ws, &w)
	if w.Type != protocol.TypeWelcome {
		t.Fatalf("v1 display: got %+v, want welcome", w)
	}
}
