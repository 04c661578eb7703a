package client

import (
	"net/url"

	"github.com/posdisplay/posdisplay/register/protocol"
)

// withFeatures adds to a display endpoint URL the features this client
// understands (protocol revision 1.1): "returns", so that the agent sends
// return lines instead of the version 1 view. An agent that predates them
// ignores the query. A URL that does not parse is returned as it is (the
// dial reports it).
func withFeatures(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set("features", protocol.FeatureReturns)
	u.RawQuery = q.Encode()
	return u.String()
}
