package hub

import (
	"testing"
	"time"
)

// Sessions lists who is connected now, and Presence reports each live
// connection's start and end (the agent's last-seen times come from it).
func TestSessionsAndPresence(t *testing.T) {
	type event struct {
		s  Session
		up bool
	}
	events := make(chan event, 8)
	f := newFixture(t, Options{Presence: func(s Session, up bool) { events <- event{s, up} }})
	before := time.Now()
	a := f.dial("tok-a", nil)
	read(t, a) // the snapshot: written after the session is recorded
	up := <-events
	if !up.up || up.s.DisplayID != "disp-a" || up.s.Register != "1" || up.s.Remote == "" || up.s.Since.Before(before) {
		t.Fatalf("presence: got %+v, want disp-a up on register 1", up)
	}
	got := f.hub.Sessions()
	if len(got) != 1 || got[0] != up.s {
		t.Fatalf("Sessions: got %+v, want [%+v]", got, up.s)
	}
	a.Close()
	down := <-events
	if down.up || down.s != up.s {
		t.Fatalf("presence after close: got %+v, want %+v down", down, up.s)
	}
	// The end is reported after the session left the list.
	if got := f.hub.Sessions(); len(got) != 0 {
		t.Fatalf("Sessions after close: got %+v, want none", got)
	}
}
