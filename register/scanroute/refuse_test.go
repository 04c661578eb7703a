package scanroute

import "testing"

func TestRefuse(t *testing.T) {
	tests := []struct {
		name       string
		reason     string
		wantReason string
	}{
		{"not found", "not_found", "not_found"},
		{"no product field", "no_product_field", "no_product_field"},
		{"ambiguous", "ambiguous", "ambiguous"},
		{"lookup error", "lookup_error", "lookup_error"},
		{"wrong sale", "wrong_sale", "wrong_sale"},
		{"busy", "busy", "busy"},
		{"unknown reason", "out_of_stock", "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.pages.set("1", true)
			a, b := f.scan("1", "A"), f.scan("1", "B")
			f.pages.take("1")
			f.r.Refuse("1", a, tt.reason, "no product has code A")
			if got := f.pages.take("1"); !eq(got, []string{b}) {
				t.Fatalf("after the refusal: sent %q, want the next scan %q", got, b)
			}
			if got := f.countReason(t, "refused", tt.wantReason); got != 1 {
				t.Fatalf("refused{%s} = %v, want 1", tt.wantReason, got)
			}
			// A duplicate refusal (the page got the scan twice after a
			// re-send) and a late ack change nothing and count nothing.
			f.r.Refuse("1", a, tt.reason, "")
			f.r.Ack("1", a)
			if got := f.count(t, "refused"); got != 1 {
				t.Fatalf("refused = %v after a duplicate, want 1", got)
			}
			if got := f.count(t, "acked"); got != 0 {
				t.Fatalf("acked = %v after a late ack of a refused scan, want 0", got)
			}
			if got := f.r.Pending("1"); got != 1 {
				t.Fatalf("pending %d, want 1 (%s)", got, b)
			}
		})
	}
}

// TestRefuseQueuedScan: a page may refuse a scan it got before a reconnect
// while another is at the head; the refused one leaves the queue and the
// head stays in flight.
func TestRefuseQueuedScan(t *testing.T) {
	f := newFixture(t, Options{})
	f.pages.set("1", true)
	a, b, c := f.scan("1", "A"), f.scan("1", "B"), f.scan("1", "C")
	f.pages.take("1")
	f.r.Refuse("1", b, "busy", "")
	if got := f.pages.take("1"); len(got) != 0 {
		t.Fatalf("sent %q while %s is unacked, want nothing", got, a)
	}
	f.r.Ack("1", a)
	if got := f.pages.take("1"); !eq(got, []string{c}) {
		t.Fatalf("after the ack: sent %q, want %q", got, c)
	}
}

func TestRefuseOtherRegisterIgnored(t *testing.T) {
	f := newFixture(t, Options{})
	f.pages.set("1", true)
	a := f.scan("1", "A")
	f.r.Refuse("2", a, "not_found", "")
	if got := f.r.Pending("1"); got != 1 {
		t.Fatalf("pending on 1: %d, want 1", got)
	}
	if got := f.count(t, "refused"); got != 0 {
		t.Fatalf("refused = %v, want 0", got)
	}
}
