package hub

import (
	"net/http"
	"strings"

	"github.com/posdisplay/posdisplay/register/protocol"
)

// maxFeatures bounds the feature names read from a display's upgrade URL.
const maxFeatures = 16

// wantsReturns reports whether the display announced, in the query of its
// upgrade request (/v1/display?features=returns,...), that it shows return
// lines (protocol revision 1.1). The announcement is in the URL rather than
// in the hello because a version 1 agent rejects a hello with an unknown
// field but ignores the query: a new display works with an old agent, and an
// old display, which sends no query, gets carts it can show.
func wantsReturns(r *http.Request) bool {
	n := 0
	for _, v := range r.URL.Query()["features"] {
		for name := range strings.SplitSeq(v, ",") {
			if n++; n > maxFeatures {
				return false
			}
			if strings.TrimSpace(name) == protocol.FeatureReturns {
				return true
			}
		}
	}
	return false
}
