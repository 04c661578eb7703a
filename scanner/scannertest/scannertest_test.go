package scannertest

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/holoplot/go-evdev"
)

func TestParseEvents(t *testing.T) {
	in := `# comment
EV_KEY KEY_A 1
EV_SYN SYN_REPORT 0
EV_KEY KEY_A 0   # trailing comment
step 100ms
EV_KEY 30 1
wait 1s
0x01 0x1e 0
+5ms EV_MSC MSC_SCAN 458756
1700000000.250000 EV_KEY KEY_ENTER 1
`
	evs, err := ParseEvents(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		at   time.Duration
		typ  evdev.EvType
		code evdev.EvCode
		v    int32
	}
	want := []row{
		{0, evdev.EV_KEY, evdev.KEY_A, 1},
		{0, evdev.EV_SYN, evdev.SYN_REPORT, 0},
		{2 * time.Millisecond, evdev.EV_KEY, evdev.KEY_A, 0},
		{102 * time.Millisecond, evdev.EV_KEY, evdev.KEY_A, 1},
		{1202 * time.Millisecond, evdev.EV_KEY, evdev.KEY_A, 0},
		{1207 * time.Millisecond, evdev.EV_MSC, evdev.MSC_SCAN, 458756},
	}
	if len(evs) != len(want)+1 {
		t.Fatalf("got %d events, want %d", len(evs), len(want)+1)
	}
	for i, w := range want {
		e := evs[i]
		at := time.Unix(int64(e.Time.Sec), int64(e.Time.Usec)*1000).Sub(FixtureEpoch)
		if at != w.at || e.Type != w.typ || e.Code != w.code || e.Value != w.v {
			t.Errorf("event %d = %v at %v, want %+v", i, e.String(), at, w)
		}
	}
	last := evs[len(evs)-1]
	if last.Time.Sec != 1700000000 || last.Time.Usec != 250000 || last.Code != evdev.KEY_ENTER {
		t.Errorf("absolute-time event = %v %v", last.Time, last.String())
	}
	var buf bytes.Buffer
	if err := FormatEvents(&buf, evs); err != nil {
		t.Fatal(err)
	}
	again, err := ParseEvents(&buf)
	if err != nil || len(again) != len(evs) {
		t.Fatalf("round trip: %d events, %v", len(again), err)
	}
	for i := range evs {
		if again[i] != evs[i] {
			t.Errorf("round trip event %d = %v, want %v", i, again[i], evs[i])
		}
	}
}

func TestParseEventsErrors(t *testing.T) {
	for _, in := range []string{"EV_KEY KEY_A", "EV_BOGUS KEY_A 1", "EV_KEY KEY_BOGUS 1", "EV_KEY KEY_A x", "step", "wait -1s", "+x EV_KEY KEY_A 1", "a b c d e"} {
		if _, err := ParseEvents(strings.NewReader(in)); err == nil {
			t.Errorf("ParseEvents(%q) = nil error, want error", in)
		}
	}
}

func TestEventDevice(t *testing.T) {
	d := NewEventDevice([]evdev.InputEvent{{Type: evdev.EV_KEY, Code: evdev.KEY_A, Value: 1}})
	if e, err := d.ReadOne(); err != nil || e.Code != evdev.KEY_A {
		t.Fatalf("ReadOne = %v, %v", e, err)
	}
	done := make(chan error, 1)
	go func() { _, err := d.ReadOne(); done <- err }()
	d.Push(evdev.InputEvent{Type: evdev.EV_KEY, Code: evdev.KEY_B, Value: 1})
	if err := <-done; err != nil {
		t.Fatalf("ReadOne after Push = %v", err)
	}
	d.Unplug()
	if _, err := d.ReadOne(); !errors.Is(err, ErrUnplugged) {
		t.Errorf("ReadOne after Unplug = %v, want ErrUnplugged", err)
	}
	d2 := NewEventDevice(nil)
	go func() { _, err := d2.ReadOne(); done <- err }()
	d2.Close()
	d2.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("ReadOne after Close = %v, want ErrClosed", err)
	}
}

func TestPort(t *testing.T) {
	p := NewPort()
	p.Feed([]byte("abc"))
	buf := make([]byte, 2)
	if n, err := p.Read(buf); n != 2 || err != nil || string(buf) != "ab" {
		t.Fatalf("Read = %d %v %q", n, err, buf[:n])
	}
	p.SetReadTimeout(time.Millisecond)
	p.Read(buf)
	if n, err := p.Read(buf); n != 0 || err != nil {
		t.Errorf("Read after timeout = %d, %v, want 0, nil", n, err)
	}
	p.SetReadTimeout(-1)
	done := make(chan error, 1)
	go func() { _, err := p.Read(buf); done <- err }()
	p.Close()
	p.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Close = %v, want ErrClosed", err)
	}
}
