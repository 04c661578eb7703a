package ingest

import "github.com/posdisplay/posdisplay/register/protocol"

// scanAnswer hands a page's ack or refuse of a scan to the scan router and
// reports whether msg was one. Neither is answered, and neither counts
// against the rate limit: both answer the agent's own messages, and
// dropping one would hold the register's scan queue.
func (p *posConn) scanAnswer(msg protocol.PosMessage) bool {
	switch msg.Type {
	case protocol.TypeAck:
		p.ack(msg)
		return true
	case protocol.TypeRefuse:
		if p.in.ScanRefused != nil && msg.Refuse != nil {
			p.in.ScanRefused(p.register, ackID(msg.ID), msg.Refuse.Reason, msg.Refuse.Message)
		}
		return true
	}
	return false
}
