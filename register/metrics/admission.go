package metrics

import "github.com/prometheus/client_golang/prometheus"

// ListenerCounters exports a connection-limited listener's counters:
// connections shed (closed to make room), refused (closed at once) and idle
// ones closed over the per-host limit, by listener ("pos" or "display").
func (m *Metrics) ListenerCounters(listener string, shed, refused, idleClosed func() float64) {
	labels := prometheus.Labels{"listener": listener}
	m.Registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "posdisplay_connections_shed_total", ConstLabels: labels,
			Help: "Idle or unfinished HTTP connections closed to make room at the listener's connection limit.",
		}, shed),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "posdisplay_connections_refused_total", ConstLabels: labels,
			Help: "Connections closed at once because the listener was at its limit with nothing to shed.",
		}, refused),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "posdisplay_connections_idle_closed_total", ConstLabels: labels,
			Help: "Idle keep-alive connections closed because their host held too many.",
		}, idleClosed),
	)
}

// NewDisplayRefusals registers and returns the counter of display
// upgrade requests refused before the upgrade, by reason
// ("address_busy", "busy", "unauthorized"). Call it once per Metrics.
func (m *Metrics) NewDisplayRefusals() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "posdisplay_display_refused_total",
		Help: "Display upgrade requests refused before the WebSocket upgrade, by reason.",
	}, []string{"reason"})
	m.Registry.MustRegister(c)
	return c
}

// NewDisplayUpgrades registers and returns the counter of display sockets
// upgraded, by where the display presented its token: "upgrade" (in the
// upgrade request) or "hello" (version 1 displays). It tells store IT when
// no display relies on hello tokens any more. Call it once per Metrics.
func (m *Metrics) NewDisplayUpgrades() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "posdisplay_display_upgrades_total",
		Help: "Display sockets upgraded, by where the token was presented (upgrade or hello).",
	}, []string{"auth"})
	m.Registry.MustRegister(c)
	return c
}
