package client

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestNoWebSocket(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"Upgrade stripped: the agent's 400", fmt.Errorf("dial: %w", &upgradeError{status: 400, err: websocket.ErrBadHandshake}), true},
		{"a page where the socket should be", fmt.Errorf("dial: %w", &upgradeError{status: 200, err: websocket.ErrBadHandshake}), true},
		{"socket closed before the welcome", fmt.Errorf("read: %w: %w", errNoWelcome, net.ErrClosed), true},
		{"unauthorized", fmt.Errorf("dial: %w", &upgradeError{status: 401, err: websocket.ErrBadHandshake}), false},
		{"unknown register", fmt.Errorf("dial: %w", &upgradeError{status: 404, err: websocket.ErrBadHandshake}), false},
		{"busy", fmt.Errorf("dial: %w", &upgradeError{status: 503, err: websocket.ErrBadHandshake}), false},
		{"proxy without the agent", fmt.Errorf("dial: %w", &upgradeError{status: 502, err: websocket.ErrBadHandshake}), false},
		{"agent down", fmt.Errorf("dial: %w", errors.New("connection refused")), false},
	}
	for _, tc := range tests {
		if got := noWebSocket(tc.err); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPollURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ws://reg1:7422/v1/display", "http://reg1:7422/v1/display/poll?features=returns&register=lane-1&wait=1000"},
		{"wss://reg1:7422/v1/display/", "https://reg1:7422/v1/display/poll?features=returns&register=lane-1&wait=1000"},
	}
	for _, tc := range tests {
		got, err := pollURL(tc.in, "lane-1", time.Second)
		if err != nil || got != tc.want {
			t.Errorf("pollURL(%q): got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
