package protocol_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/posdisplay/posdisplay/register/protocol"
)

func TestDisplayUpgrade(t *testing.T) {
	tok := "dt_3f9a/+= ü"
	u, ok, err := protocol.ParseDisplayUpgrade(protocol.DisplaySubprotocols(tok), url.Values{"register": {"lane-1"}})
	if err != nil || !ok || u.Token != tok || u.Register != "lane-1" {
		t.Errorf("subprotocol round trip = %+v, %v, %v; want token %q for lane-1", u, ok, err, tok)
	}
	for _, p := range protocol.DisplaySubprotocols(tok) {
		if strings.ContainsAny(p, " /+=,;\"") {
			t.Errorf("subprotocol %q is not an HTTP token", p)
		}
	}
	u, ok, err = protocol.ParseDisplayUpgrade(nil, url.Values{"register": {"lane-1"}, "token": {"abc"}})
	if err != nil || !ok || u.Token != "abc" {
		t.Errorf("query token = %+v, %v, %v; want abc", u, ok, err)
	}
	if _, ok, err = protocol.ParseDisplayUpgrade([]string{protocol.DisplaySubprotocol}, url.Values{}); ok || err != nil {
		t.Errorf("no token: ok %v err %v, want false, nil (a v1 display)", ok, err)
	}
	long := protocol.DisplaySubprotocols(strings.Repeat("x", protocol.MaxTokenLen+1))
	if _, _, err = protocol.ParseDisplayUpgrade(long, nil); !errors.Is(err, protocol.ErrUpgradeToken) {
		t.Errorf("long token: err %v, want ErrUpgradeToken", err)
	}
	if _, _, err = protocol.ParseDisplayUpgrade([]string{"posdisplay.token.***"}, nil); !errors.Is(err, protocol.ErrUpgradeToken) {
		t.Errorf("bad base64: err %v, want ErrUpgradeToken", err)
	}
	got, err := protocol.DisplayUpgradeURL("wss://10.0.0.5:7422/v1/display", "lane 1")
	if want := "wss://10.0.0.5:7422/v1/display?register=lane+1"; err != nil || got != want {
		t.Errorf("DisplayUpgradeURL = %q, %v; want %q", got, err, want)
	}
}
