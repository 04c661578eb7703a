package client

import "testing"

func TestWithFeatures(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ws://register1:7422/v1/display", "ws://register1:7422/v1/display?features=returns%2Cbatch"},
		{"wss://10.0.0.5:7422/v1/display?x=1", "wss://10.0.0.5:7422/v1/display?features=returns%2Cbatch&x=1"},
		{"wss://[fe80::1%25eth0]:7422/v1/display", "wss://[fe80::1%25eth0]:7422/v1/display?features=returns%2Cbatch"},
	}
	for _, tt := range tests {
		if got := withFeatures(tt.in); got != tt.want {
			t.Errorf("withFeatures(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
