package scanroute

import "github.com/posdisplay/posdisplay/register/cart"

// sale is what the router knows of a register's current sale. gen counts
// sale boundaries: a scan read in generation g is delivered only while the
// register is still in g.
type sale struct {
	seq   uint64 // stream position of the cart this was learnt from
	order string
	state cart.State
	gen   uint64
}

func (r *Router) saleLocked(register string) *sale {
	s, ok := r.sales[register]
	if !ok {
		s = &sale{state: cart.StateIdle}
		r.sales[register] = s
	}
	return s
}

// SaleChanged tells the router the register's cart at stream position seq:
// its order and state. Calls for a position at or before one already seen
// are ignored, so the caller need not serialise them. The agent calls it
// with the persisted cart at start and after every accepted change.
//
// A new sale begins (and every scan still waiting from an earlier one is
// dropped, counted as outcome="dropped",reason="sale_changed") when
//   - the order changes from a known order to anything else (another
//     order, or none): the POS moved to another sale;
//   - the state goes from open or payment to complete or idle: the sale was
//     paid or cleared, and a scan read before must not start the next one.
//
// An order appearing where there was none ("" → "A-17", the first item of
// a sale creating its order) is the same sale: the scan that started it
// stays.
func (r *Router) SaleChanged(register string, seq uint64, order string, state cart.State) {
	r.mu.Lock()
	s := r.saleLocked(register)
	if seq != 0 && seq <= s.seq {
		r.mu.Unlock()
		return
	}
	ended := (s.order != "" && order != s.order) ||
		((s.state == cart.StateOpen || s.state == cart.StatePayment) && (state == cart.StateComplete || state == cart.StateIdle))
	s.seq, s.order, s.state = seq, order, state
	if !ended {
		r.mu.Unlock()
		return
	}
	s.gen++
	q := r.queues[register]
	kept := q[:0:0]
	for _, e := range q {
		if e.sale == s.gen {
			kept = append(kept, e)
			continue
		}
		r.dropped(register, e, dropSaleChanged)
	}
	r.queues[register] = kept
	dropped := len(kept) != len(q)
	r.mu.Unlock()
	if dropped {
		r.pump(register)
	}
}
