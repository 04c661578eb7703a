package scanroute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/posdisplay/posdisplay/register/clock/clocktest"
	"github.com/posdisplay/posdisplay/register/metrics"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/testlog"
	"github.com/posdisplay/posdisplay/scanner"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var errNoPage = errors.New("no page")

// fakePages is a hand-written Pages: it records what each register's page
// was sent, and has no page for a register until set up. Each page
// connection has its own id, as the POS side's sockets do.
type fakePages struct {
	mu     sync.Mutex
	page   map[string]uint64   // each register's page connection; 0: none
	lastID uint64              // the last page id given
	sent   map[string][]string // scan ids in send order
	msgs   []protocol.Scan     // every scan sent, all registers
	to     []uint64            // the page connection of each of msgs
	// during, when set, runs inside SendToPage after the page is chosen
	// and before it returns (outside mu): what may happen meanwhile.
	during func(register string)
}

func newFakePages() *fakePages {
	return &fakePages{page: map[string]uint64{}, sent: map[string][]string{}}
}

func (p *fakePages) SendToPage(register string, v any) (uint64, error) {
	p.mu.Lock()
	page, err := p.page[register], error(nil)
	s, ok := v.(protocol.Scan)
	switch {
	case page == 0:
		err = errNoPage
	case !ok:
		err = fmt.Errorf("unexpected message %T", v)
	default:
		p.sent[register] = append(p.sent[register], s.ID)
		p.msgs = append(p.msgs, s)
		p.to = append(p.to, page)
	}
	during := p.during
	p.mu.Unlock()
	if during != nil {
		during(register)
	}
	if err != nil {
		return 0, err
	}
	return page, nil
}

// set connects a new page for register (and returns its id) or, with up
// false, leaves it without one.
func (p *fakePages) set(register string, up bool) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.page[register] = 0
	if up {
		p.lastID++
		p.page[register] = p.lastID
	}
	return p.page[register]
}

// current returns register's page connection, 0 for none.
func (p *fakePages) current(register string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.page[register]
}

// take returns and forgets what register's page was sent.
func (p *fakePages) take(register string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.sent[register]
	delete(p.sent, register)
	return out
}

type fixture struct {
	r       *Router
	pages   *fakePages
	clock   *clocktest.Clock
	metrics *metrics.Metrics
	cues    *[]string
}

func newFixture(t *testing.T, opts Options) *fixture {
	pages := newFakePages()
	clk := clocktest.New(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC))
	m := metrics.New()
	var mu sync.Mutex
	cues := &[]string{}
	opts.Clock = clk.Now
	opts.Cue = func(register string) { mu.Lock(); *cues = append(*cues, register); mu.Unlock() }
	r := New(pages, m, testLogger(t), "ep", opts)
	return &fixture{r: r, pages: pages, clock: clk, metrics: m, cues: cues}
}

// connect opens a new page connection for register and tells the router,
// as the POS side does when a page's socket opens.
func (f *fixture) connect(register string) {
	f.r.PageConnected(register, f.pages.set(register, true))
}

// scan submits a scan read now and returns its id.
func (f *fixture) scan(register, code string) string {
	return f.r.Submit(register, scanner.Scan{Code: code, Symbology: "ean13", Source: "test", At: f.clock.Now()})
}

// count sums posdisplay_scans_total over every reason of outcome.
func (f *fixture) count(t *testing.T, outcome string) float64 {
	t.Helper()
	mfs, err := f.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != "posdisplay_scans_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

// countReason is posdisplay_scans_total{outcome, reason}.
func (f *fixture) countReason(t *testing.T, outcome, reason string) float64 {
	t.Helper()
	return testutil.ToFloat64(f.metrics.Scans.WithLabelValues(outcome, reason))
}

func eq(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestOneInFlightInOrder(t *testing.T) {
	f := newFixture(t, Options{})
	f.pages.set("1", true)
	a, b, c := f.scan("1", "A"), f.scan("1", "B"), f.scan("1", "C")
	if got := f.pages.take("1"); !eq(got, []string{a}) {
		t.Fatalf("before any ack: got %q, want only %q", got, a)
	}
	f.r.Ack("1", a)
	if got := f.pages.take("1"); !eq(got, []string{b}) {
		t.Fatalf("after ack of %s: got %q, want %q", a, got, b)
	}
	f.r.Ack("1", b)
	f.r.Ack("1", c)
	if got := f.pages.take("1"); !eq(got, []string{c}) {
		t.Fatalf("after ack of %s: got %q, want %q", b, got, c)
	}
	if got := f.r.Pending("1"); got != 0 {
		t.Errorf("pending: got %d, want 0", got)
	}
	if got := f.count(t, "acked"); got != 3 {
		t.Errorf("acked: got %v, want 3", got)
	}
	if got := len(*f.cues); got != 3 {
		t.Errorf("cues: got %d, want 3", got)
	}
}

func TestIDsAreUniqueAndPrefixed(t *testing.T) {
	f := newFixture(t, Options{})
	seen := map[string]bool{}
	for range 5 {
		id := f.scan("1", "A")
		if !strings.HasPrefix(id, "ep-") || seen[id] {
			t.Fatalf("id %q: want unique, with prefix %q", id, "ep-")
		}
		seen[id] = true
	}
}

func TestAckOfUnknownOrDuplicateIDChangesNothing(t *testing.T) {
	f := newFixture(t, Options{})
	f.pages.set("1", true)
	a, b := f.scan("1", "A"), f.scan("1", "B")
	f.pages.take("1")
	tests := []struct {
		name, register, id string
	}{
		{"unknown id", "1", "ep-999"},
		{"id of the next scan's register", "2", a},
		{"empty id", "1", ""},
	}
	for _, tc := range tests {
		f.r.Ack(tc.register, tc.id)
		if got := f.r.Pending("1"); got != 2 {
			t.Errorf("%s: pending got %d, want 2", tc.name, got)
		}
		if got := f.pages.take("1"); len(got) != 0 {
			t.Errorf("%s: sent %q, want nothing", tc.name, got)
		}
	}
	f.r.Ack("1", a)
	f.r.Ack("1", a) // duplicate: the page acks a re-sent scan again
	if got := f.r.Pending("1"); got != 1 {
		t.Errorf("after duplicate ack: pending got %d, want 1", got)
	}
	if got := f.pages.take("1"); !eq(got, []string{b}) {
		t.Errorf("after duplicate ack: sent %q, want %q once", got, b)
	}
	if got := f.count(t, "acked"); got != 1 {
		t.Errorf("acked: got %v, want 1", got)
	}
}

// A page may ack a later scan first (it took a re-sent scan out of order);
// the head is still the one in flight.
func TestAckOfQueuedScanKeepsHead(t *testing.T) {
	f := newFixture(t, Options{})
	f.pages.set("1", true)
	a, b, c := f.scan("1", "A"), f.scan("1", "B"), f.scan("1", "C")
	f.pages.take("1")
	f.r.Ack("1", b)
	if got := f.pages.take("1"); len(got) != 0 {
		t.Fatalf("head %s still in flight: sent %q, want nothing", a, got)
	}
	f.r.Ack("1", a)
	if got := f.pages.take("1"); !eq(got, []string{c}) {
		t.Fatalf("got %q, want %q", got, c)
	}
}

func TestPageConnectedResendsInOrder(t *testing.T) {
	f := newFixture(t, Options{})
	a, b := f.scan("1", "A"), f.scan("1", "B") // no page yet
	if got := f.pages.take("1"); len(got) != 0 {
		t.Fatalf("without a page: sent %q", got)
	}
	f.connect("1")
	if got := f.pages.take("1"); !eq(got, []string{a}) {
		t.Fatalf("page connected: got %q, want %q", got, a)
	}
	// The page reloads before acking: a is sent again, not b.
	f.connect("1")
	if got := f.pages.take("1"); !eq(got, []string{a}) {
		t.Fatalf("page reconnected: got %q, want %q again", got, a)
	}
	f.r.Ack("1", a)
	if got := f.pages.take("1"); !eq(got, []string{b}) {
		t.Fatalf("after ack: got %q, want %q", got, b)
	}
	f.connect("2") // another register: nothing to send
	if got := f.pages.take("2"); len(got) != 0 {
		t.Errorf("register 2: sent %q, want nothing", got)
	}
}

// A scan read after a page's socket opened, and before the router heard
// of it, went to that page: PageConnected for it sends nothing again. A
// page that connects later gets the unacked scan.
func TestScanSentToTheNewPageIsNotResent(t *testing.T) {
	f := newFixture(t, Options{})
	page := f.pages.set("1", true) // the socket is open; PageConnected is on its way
	a := f.scan("1", "A")
	f.r.PageConnected("1", page)
	if got := f.pages.take("1"); !eq(got, []string{a}) {
		t.Fatalf("sent %q, want %q once", got, a)
	}
	f.connect("1") // the page reloads before acking
	if got := f.pages.take("1"); !eq(got, []string{a}) {
		t.Fatalf("to the reloaded page: sent %q, want %q again", got, a)
	}
}

// PageConnected can come while a pump is sending, outside the router's
// lock. The scan is then sent again exactly when the send went to another
// connection than the one PageConnected names, or failed.
func TestPageConnectedDuringASend(t *testing.T) {
	for _, tt := range []struct {
		name     string
		noPage   bool // the send fails: no page yet
		newPage  bool // a new page connects during the send (else: the send went to the page being announced)
		wantSent int
	}{
		{"send to the announced page", false, false, 1},
		{"send to the page before", false, true, 2},
		{"send to no page", true, true, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			page := uint64(0)
			if !tt.noPage {
				page = f.pages.set("1", true)
			}
			var once sync.Once
			f.pages.during = func(register string) {
				once.Do(func() {
					if tt.newPage {
						page = f.pages.set(register, true)
					}
					f.r.PageConnected(register, page)
				})
			}
			a := f.scan("1", "A")
			got := f.pages.take("1")
			if len(got) != tt.wantSent || got[0] != a {
				t.Fatalf("sent %q, want %q %d times", got, a, tt.wantSent)
			}
			if last := f.pages.to[len(f.pages.to)-1]; last != page {
				t.Errorf("last send to page %d, want the announced page %d", last, page)
			}
		})
	}
}

func TestRegistersAreIndependent(t *testing.T) {
	f := newFixture(t, Options{})
	f.pages.set("1", true)
	f.pages.set("2", true)
	a1 := f.scan("1", "A")
	a2 := f.scan("2", "A")
	if got := f.pages.take("1"); !eq(got, []string{a1}) {
		t.Errorf("register 1: got %q, want %q", got, a1)
	}
	if got := f.pages.take("2"); !eq(got, []string{a2}) {
		t.Errorf("register 2: got %q, want %q", got, a2)
	}
	f.r.Ack("2", a1) // right id, wrong register
	if got := f.r.Pending("1"); got != 1 {
		t.Errorf("register 1 pending: got %d, want 1", got)
	}
}

func TestExpireDropsOldestFirst(t *testing.T) {
	const ttl = time.Minute
	f := newFixture(t, Options{TTL: ttl})
	f.pages.set("1", true)
	a := f.scan("1", "A")
	f.clock.Advance(20 * time.Second)
	b := f.scan("1", "B")
	f.clock.Advance(20 * time.Second)
	c := f.scan("1", "C")
	f.pages.take("1")

	steps := []struct {
		advance     time.Duration
		wantPending int
		wantSent    []string
		wantDropped float64
	}{
		{20 * time.Second, 3, nil, 0},         // a is exactly TTL old: kept
		{time.Second, 2, []string{b}, 1},      // a expired, b sent
		{20 * time.Second, 1, []string{c}, 2}, // b expired, c sent
		{10 * time.Second, 1, nil, 2},         // c is 51 s old
		{11 * time.Second, 0, nil, 3},         // c expired
	}
	for i, s := range steps {
		f.clock.Advance(s.advance)
		f.r.Expire()
		if got := f.r.Pending("1"); got != s.wantPending {
			t.Errorf("step %d: pending got %d, want %d", i, got, s.wantPending)
		}
		if got := f.pages.take("1"); !eq(got, s.wantSent) {
			t.Errorf("step %d: sent %q, want %q", i, got, s.wantSent)
		}
		if got := f.count(t, "dropped"); got != s.wantDropped {
			t.Errorf("step %d: dropped got %v, want %v", i, got, s.wantDropped)
		}
	}
	f.r.Ack("1", a) // too late: ignored
	if got := f.count(t, "acked"); got != 0 {
		t.Errorf("late ack counted: got %v, want 0", got)
	}
}

func TestMaxQueueDropsOldest(t *testing.T) {
	f := newFixture(t, Options{MaxQueue: 3})
	ids := []string{f.scan("1", "A"), f.scan("1", "B"), f.scan("1", "C")}
	if got := f.count(t, "dropped"); got != 0 {
		t.Fatalf("dropped at the limit: got %v, want 0", got)
	}
	d := f.scan("1", "D")
	e := f.scan("1", "E")
	if got := f.r.Pending("1"); got != 3 {
		t.Errorf("pending: got %d, want 3", got)
	}
	if got := f.count(t, "dropped"); got != 2 {
		t.Errorf("dropped: got %v, want 2", got)
	}
	f.connect("1")
	var got []string
	for range 3 {
		sent := f.pages.take("1")
		got = append(got, sent...)
		if len(sent) == 1 {
			f.r.Ack("1", sent[0])
		}
	}
	if want := []string{ids[2], d, e}; !eq(got, want) {
		t.Errorf("delivered: got %q, want %q (oldest two dropped)", got, want)
	}
}

func TestFailedSendIsRetriedOnReconnect(t *testing.T) {
	f := newFixture(t, Options{})
	f.pages.set("1", true)
	a := f.scan("1", "A")
	f.pages.take("1")
	f.pages.set("1", false) // page gone; the router hears nothing yet
	f.r.Ack("1", "ep-unknown")
	f.connect("1")
	if got := f.pages.take("1"); !eq(got, []string{a}) {
		t.Fatalf("got %q, want %q re-sent", got, a)
	}
	if got := f.count(t, "delivered"); got != 2 {
		t.Errorf("delivered: got %v, want 2 (first send and re-send)", got)
	}
}

func TestRunDropsPendingOnShutdown(t *testing.T) {
	f := newFixture(t, Options{TTL: time.Hour})
	f.scan("1", "A")
	f.scan("1", "B")
	f.scan("2", "C")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.r.Run(ctx) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: got %v, want context.Canceled", err)
	}
	for _, reg := range []string{"1", "2"} {
		if got := f.r.Pending(reg); got != 0 {
			t.Errorf("register %s pending: got %d, want 0", reg, got)
		}
	}
	if got := f.count(t, "dropped"); got != 3 {
		t.Errorf("dropped: got %v, want 3", got)
	}
}

func TestRunWithTinyTTL(t *testing.T) {
	f := newFixture(t, Options{TTL: time.Nanosecond})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.r.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: got %v, want context.Canceled", err)
	}
}

// Submit, Ack, PageConnected and Expire come from different goroutines in
// the agent (scanner, POS reader, POS handler, Run). Whatever the
// interleaving, every scan is acked or dropped exactly once, and the page
// never sees a scan before the previous one was sent.
func TestConcurrentUse(t *testing.T) {
	f := newFixture(t, Options{MaxQueue: 1000})
	f.pages.set("1", true)
	const n = 200
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range n {
			f.scan("1", fmt.Sprint(i))
		}
	}()
	go func() {
		defer wg.Done()
		for range 50 {
			f.connect("1") // the page reloads
			f.r.Expire()
		}
	}()
	acked := 0
	for acked < n {
		sent := f.pages.take("1")
		for _, id := range sent {
			f.r.Ack("1", id)
		}
		if len(sent) == 0 && f.r.Pending("1") > 0 {
			f.r.PageConnected("1", f.pages.current("1"))
		}
		acked = int(f.count(t, "acked"))
	}
	wg.Wait()
	if got := f.r.Pending("1"); got != 0 {
		t.Errorf("pending: got %d, want 0", got)
	}
	if got := f.count(t, "dropped"); got != 0 {
		t.Errorf("dropped: got %v, want 0", got)
	}
}

func testLogger(t testing.TB) *slog.Logger { return testlog.New(t, slog.LevelDebug) }

// TestGarbledScansAreRefused: a code that is empty or not valid UTF-8 is
// refused and counted, never sent (JSON would turn it into another code).
func TestGarbledScansAreRefused(t *testing.T) {
	f := newFixture(t, Options{})
	f.pages.set("1", true)
	for _, s := range []scanner.Scan{
		{Code: "", Source: "test"},
		{Code: "AB\xe9CD", Source: "test"}, // Latin-1 é
		{Code: "4006381333931", Source: "test", InvalidUTF8: true},
	} {
		if id := f.r.Submit("1", s); id != "" {
			t.Errorf("Submit(%q): got id %q, want refused", s.Code, id)
		}
	}
	if got := f.pages.take("1"); len(got) != 0 {
		t.Fatalf("sent %v, want nothing", got)
	}
	if got := f.count(t, "rejected"); got != 3 {
		t.Fatalf("rejected metric: got %v, want 3", got)
	}
	if id := f.scan("1", "4006381333931"); id == "" || !eq(f.pages.take("1"), []string{id}) {
		t.Fatal("a good scan after refused ones was not sent")
	}
}
