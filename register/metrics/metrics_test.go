package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Two agents in one process (as in the integration tests) must not collide:
// New registers on a registry of its own, never the default one.
func TestNewTwiceDoesNotCollide(t *testing.T) {
	a, b := New(), New()
	a.Events.WithLabelValues("accepted", "cart").Inc()
	if a.Registry == b.Registry {
		t.Fatal("got the same registry twice, want one per Metrics")
	}
	got := scrape(t, b)
	if strings.Contains(got, `posdisplay_pos_events_total{reason="cart",result="accepted"} 1`) {
		t.Errorf("b shows a's counter:\n%s", got)
	}
}

func TestHandlerServesEveryCollector(t *testing.T) {
	m := New()
	m.DisplaysConnected.WithLabelValues("lane-1").Inc()
	m.POSConnected.WithLabelValues("lane-1").Inc()
	m.Events.WithLabelValues("rejected", "bad_json").Inc()
	m.FanoutLatency.Observe(0.0003)
	m.Resyncs.WithLabelValues("slow").Inc()
	m.Scans.WithLabelValues("dropped", "expired").Inc()
	m.Scans.WithLabelValues("refused", "not_found").Inc()
	got := scrape(t, m)
	for _, want := range []string{
		`posdisplay_displays_connected{register="lane-1"} 1`,
		`posdisplay_pos_connected{register="lane-1"} 1`,
		`posdisplay_pos_events_total{reason="bad_json",result="rejected"} 1`,
		`posdisplay_fanout_latency_seconds_bucket{le="0.0005"} 1`,
		`posdisplay_fanout_latency_seconds_bucket{le="0.00025"} 0`,
		`posdisplay_fanout_latency_seconds_count 1`,
		`posdisplay_display_resyncs_total{reason="slow"} 1`,
		`posdisplay_scans_total{outcome="dropped",reason="expired"} 1`,
		`posdisplay_scans_total{outcome="refused",reason="not_found"} 1`,
		"go_goroutines ",
		"process_", // Linux: the process collector reports
	} {
		if !strings.Contains(got, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status: got %d, want %d", rec.Code, http.StatusOK)
	}
	body, err := io.ReadAll(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// A Tally added at once shows what observing each value on a
// prometheus.Histogram shows: buckets (values on a bound included in it),
// count and sum.
func TestHistogramTallyMatchesPrometheus(t *testing.T) {
	buckets := []float64{.001, .01, .1, 1}
	values := []float64{0, .0005, .001, .001, .0011, .01, .05, .1, .5, 1, 2, 30}
	ref := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "x_seconds", Help: "h", Buckets: buckets})
	ours := NewHistogram("x_seconds", "h", buckets)
	tally := ours.Tally()
	for i, v := range values {
		ref.Observe(v)
		if i%5 == 0 {
			ours.Observe(v) // one at a time, between tallies
			continue
		}
		tally.Observe(v)
	}
	ours.Add(&tally)
	ours.Add(&tally) // emptied by the first Add: adds nothing
	want, got := expose(t, ref), expose(t, ours)
	if got != want {
		t.Errorf("exposition: got\n%s\nwant\n%s", got, want)
	}
}

func expose(t *testing.T, c prometheus.Collector) string {
	t.Helper()
	r := prometheus.NewRegistry()
	r.MustRegister(c)
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(r, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}
