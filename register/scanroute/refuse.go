package scanroute

import "github.com/posdisplay/posdisplay/register/protocol"

// Refuse removes the scan with id from register's queue because the page
// could not place it (protocol "refuse"), counts it as outcome="refused"
// with the page's reason, logs it, and sends the next scan. A refusal for a
// scan no longer queued (already acked, refused or dropped; a duplicate
// after a re-send) is only logged at debug level: it is not counted twice.
func (r *Router) Refuse(register, id, reason, message string) {
	reason = protocol.RefuseReason(reason)
	r.mu.Lock()
	q := r.queues[register]
	var found *entry
	for i, e := range q {
		if e.msg.ID == id {
			r.queues[register] = append(q[:i:i], q[i+1:]...)
			found = e
			break
		}
	}
	r.mu.Unlock()
	if found == nil {
		r.log.Debug("refusal of a scan no longer waiting", "register", register, "scan", id, "reason", reason)
		return
	}
	r.metrics.Scans.WithLabelValues("refused", reason).Inc()
	r.log.Warn("scan refused by the POS page", "register", register, "scan", id, "reason", reason, "message", message,
		"order", found.msg.Order, "symbology", found.msg.Symbology, "source", found.msg.Source)
	r.pump(register)
}
