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
func wantsReturns(r *http.Request) bool { return wantsFeature(r, protocol.FeatureReturns) }

// wantsBatches reports whether the display announced that it reads batch
// messages (protocol revision 1.2, protocol.Batch). Any other display gets
// its deltas one message each.
func wantsBatches(r *http.Request) bool { return wantsFeature(r, protocol.FeatureBatch) }

// wantsFeature reports whether feature is among the first maxFeatures
// names of the "features" query (comma-separated; the parameter may repeat).
func wantsFeature(r *http.Request, feature string) bool {
	n := 0
	for _, v := range r.URL.Query()["features"] {
		for name := range strings.SplitSeq(v, ",") {
			if n++; n > maxFeatures {
				return false
			}
			if strings.TrimSpace(name) == feature {
				return true
			}
		}
	}
	return false
}
