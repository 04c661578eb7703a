// Package metrics holds the agent's Prometheus collectors on a registry of
// its own (never the global default one), so that several agents in one
// test process do not collide.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the agent's collectors.
type Metrics struct {
	Registry *prometheus.Registry

	// DisplaysConnected counts subscribed displays per register.
	DisplaysConnected *prometheus.GaugeVec
	// POSConnected counts POS page sockets per register.
	POSConnected *prometheus.GaugeVec
	// Events counts POS messages by result ("accepted" or "rejected") and
	// reason (the error code, or the message type when accepted).
	Events *prometheus.CounterVec
	// FanoutLatency is the time from accepting a change to writing its
	// delta to a display socket (latency.go: a batch's deltas are added
	// at once).
	FanoutLatency *Histogram
	// Resyncs counts fresh snapshots sent because a display fell behind
	// or asked for one, by reason.
	Resyncs *prometheus.CounterVec
	// Scans counts scans by outcome (delivered, acked, dropped, rejected,
	// refused) and reason: for refused, the page's reason (not_found,
	// busy, ... or other); for dropped, why (expired, queue_full,
	// stopping, sale_changed); "" for the others.
	Scans *prometheus.CounterVec
	// Saves counts cart writes to the state directory by outcome ("ok",
	// "failed"); a failed write is retried until it succeeds.
	Saves *prometheus.CounterVec
	// SavesPending counts registers whose newest cart is not on disk yet
	// (queued, being written, or failing).
	SavesPending prometheus.Gauge
	// DisplaysCut counts displays the agent cut back or dropped, by reason:
	// "slow" (queue or in-flight bytes over the bound: sent one snapshot),
	// "silent" (no pong within the read deadline), "write_timeout".
	DisplaysCut *prometheus.CounterVec
}

// New returns the collectors registered on a new registry, with the Go and
// process collectors included.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		DisplaysConnected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "posdisplay_displays_connected", Help: "Displays subscribed to a register's stream.",
		}, []string{"register"}),
		POSConnected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "posdisplay_pos_connected", Help: "POS page sockets open per register.",
		}, []string{"register"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posdisplay_pos_events_total", Help: "POS messages by result and reason.",
		}, []string{"result", "reason"}),
		FanoutLatency: NewHistogram("posdisplay_fanout_latency_seconds",
			"Time from accepting a cart change to writing its delta to a display.",
			[]float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}),
		Resyncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posdisplay_display_resyncs_total", Help: "Fresh snapshots sent to displays, by reason.",
		}, []string{"reason"}),
		Scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posdisplay_scans_total", Help: "Barcode scans by outcome and reason.",
		}, []string{"outcome", "reason"}),
		Saves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posdisplay_cart_saves_total", Help: "Cart writes to the state directory by outcome.",
		}, []string{"outcome"}),
		SavesPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "posdisplay_cart_saves_pending", Help: "Registers whose newest cart is not on disk yet.",
		}),
		DisplaysCut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posdisplay_displays_cut_total", Help: "Displays cut back to a snapshot or dropped, by reason.",
		}, []string{"reason"}),
	}
	r.MustRegister(m.DisplaysConnected, m.POSConnected, m.Events, m.FanoutLatency, m.Resyncs, m.Scans, m.Saves, m.SavesPending, m.DisplaysCut,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
