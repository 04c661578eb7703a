package client

import (
	"net/url"

	"github.com/posdisplay/posdisplay/register/protocol"
)

// features is what this client announces: "returns" (revision 1.1), so
// that the agent sends return lines instead of the version 1 view, and
// "batch" (revision 1.2), so that a backlog of deltas comes as one message.
var features = protocol.FeatureReturns + "," + protocol.FeatureBatch

// withFeatures adds to a display endpoint URL the features this client
// understands. An agent that predates them ignores the query. A URL that
// does not parse is returned as it is (the dial reports it).
func withFeatures(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set("features", features)
	u.RawQuery = q.Encode()
	return u.String()
}
