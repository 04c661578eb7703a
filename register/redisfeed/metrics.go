package redisfeed

import "github.com/prometheus/client_golang/prometheus"

type feedMetrics struct {
	up         prometheus.Gauge
	reconnects *prometheus.CounterVec
	entries    *prometheus.CounterVec
	gaps       prometheus.Counter
	results    prometheus.Gauge
	scans      *prometheus.CounterVec

	positionErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *feedMetrics {
	m := &feedMetrics{
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "posdisplay_redis_link_up", Help: "1 while the Redis link reads the pos streams, 0 otherwise.",
		}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posdisplay_redis_link_failures_total", Help: "Redis link failures by reason (auth, acl, tls, unreachable, error).",
		}, []string{"reason"}),
		entries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posdisplay_redis_entries_total", Help: "Pos stream entries answered, by result (ack, error) and reason.",
		}, []string{"result", "reason"}),
		gaps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posdisplay_redis_gaps_total", Help: "Times entries after the saved position had been trimmed away: the feed jumped to the newest entry.",
		}),
		results: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "posdisplay_redis_results_pending", Help: "Results waiting for the link to be written.",
		}),
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posdisplay_redis_scans_total", Help: "Scans sent to Redis by outcome (sent, expired, dropped, rejected) and reason.",
		}, []string{"outcome", "reason"}),
		positionErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "posdisplay_redis_position_errors_total", Help: "Failed writes of a register's saved Redis position.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.up, m.reconnects, m.entries, m.gaps, m.results, m.scans, m.positionErrors)
	}
	return m
}
