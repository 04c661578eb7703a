package client

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/display/client/clienttest"
	"github.com/posdisplay/posdisplay/register/cart"
)

// FuzzServerMessages feeds a replica that holds a snapshot a sequence of
// arbitrary agent messages, one per line. Whatever arrives, the replica
// never panics, only ever holds a valid cart of its register, keeps its
// last good cart when a message is rejected, and only names lines it has.
func FuzzServerMessages(f *testing.F) {
	base := clienttest.Cart(reg, 3)
	next := base.Clone()
	next.Lines = append(next.Lines, clienttest.Line("n", "New", 2, 50))
	next = clienttest.Totalled(next)
	f.Add(deltaMsg(f, posE1(2), cart.Diff(base, next)))
	f.Add(bytes.Join([][]byte{
		deltaMsg(f, posE1(3), cart.Diff(base, next)),
		snapMsg(f, posE1(3), next),
		deltaMsg(f, posE1(4), cart.Diff(next, base)),
	}, []byte("\n")))
	f.Add([]byte(`{"type":"delta","epoch":"e1","seq":2,"ops":[{"op":"move","index":0,"from":2,"id":"l2"}]}`))
	f.Add([]byte(`{"type":"cue","cue":"scanning"}` + "\n" + `{"type":"resumed","epoch":"e1","seq":1}`))
	f.Add([]byte(`{"type":"error","code":"unauthorized","message":"no"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := synced(t, base, 1)
		for _, msg := range bytes.Split(data, []byte("\n")) {
			before, beforePos := r.cart, r.pos
			v, _ := r.handleData(msg, time.Now())
			if err := r.cart.Validate(); err != nil {
				t.Fatalf("replica holds an invalid cart after %q: %v", msg, err)
			}
			if r.cart.Register != reg {
				t.Fatalf("replica holds register %q", r.cart.Register)
			}
			if (v == outOfStep || v == ignored) && (!cart.Equal(r.cart, before) || r.pos != beforePos) {
				t.Fatalf("verdict %v changed the replica", v)
			}
			for _, id := range r.changed {
				if !slices.ContainsFunc(r.cart.Lines, func(l cart.Line) bool { return l.ID == id }) {
					t.Fatalf("changed names line %q, not in the cart", id)
				}
			}
		}
	})
}
