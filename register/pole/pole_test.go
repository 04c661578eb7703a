package pole_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/pole"
	"github.com/posdisplay/posdisplay/register/stream"
	"github.com/posdisplay/posdisplay/register/testlog"
)

func openCart(title string, price cart.Money) cart.Cart {
	return cart.Cart{Register: "1", Order: "A-1", Currency: "USD", State: cart.StateOpen, Taxes: []cart.TaxLine{},
		Lines: []cart.Line{{ID: "l1", Title: title, Quantity: 1000, UnitPrice: price, Total: price}}, Subtotal: price, Total: price}
}

// waitWrite returns the next write whose cart is c (and that initialized
// the display, with init).
func waitWrite(t *testing.T, writes <-chan pole.Write, c cart.Cart, init ...bool) pole.Write {
	t.Helper()
	timeout := time.After(10 * time.Second) // a bound on a hang, not a synchronisation
	for {
		select {
		case w := <-writes:
			if cart.Equal(w.Cart, c) && (len(init) == 0 || w.Init == init[0]) {
				return w
			}
		case <-timeout:
			t.Fatalf("no write of the cart with total %d", c.Total)
		}
	}
}

// TestUnplugReplug unplugs the display (the pty's master closes), changes
// the cart while it is away, and plugs a new one in behind the same by-id
// link: the pole reopens it, initializes it and shows the current cart,
// never the one from before the unplug.
func TestUnplugReplug(t *testing.T) {
	pty1 := needPTY(t)
	link := filepath.Join(t.TempDir(), "usb-Epson_DM-D110-if00")
	if err := pty1.Link(link); err != nil {
		t.Fatal(err)
	}
	writes := make(chan pole.Write, 64)
	p, err := pole.New(pole.Config{Name: "lane1", Port: pole.PortConfig{ByID: link}},
		pole.Options{Logger: testlog.New(t, slog.LevelDebug), RetryMin: 2 * time.Millisecond, RetryMax: 20 * time.Millisecond,
			Wrote: func(w pole.Write) { writes <- w }})
	if err != nil {
		t.Fatal(err)
	}
	cp, _ := pole.LookupCodePage("")
	st := stream.New("1", "e1", cart.Empty("1", "USD"), 16)
	w1 := newWire(t, pty1, "epson", cp)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, st) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	a := openCart("Milk", 199)
	w1.take((<-writes).Bytes) // welcome
	if _, err := st.Publish(a, time.Now()); err != nil {
		t.Fatal(err)
	}
	w1.take(waitWrite(t, writes, a).Bytes)
	t.Logf("before unplug:\n%s", w1.emu)

	pty1.Close() // unplugged
	b := openCart("Bread", 350)
	if _, err := st.Publish(b, time.Now()); err != nil {
		t.Fatal(err)
	}
	pty2 := needPTY(t)
	w2 := newWire(t, pty2, "epson", cp)
	if err := pty2.Link(link); err != nil {
		t.Fatal(err)
	}
	// A write of b may still land in the unplugged port's kernel buffer
	// before the pole notices; the replugged display gets init, then b.
	w2.take(waitWrite(t, writes, b, true).Bytes)
	if w2.emu.Inits != 1 {
		t.Errorf("replugged display: %d inits, want 1", w2.emu.Inits)
	}
	t.Logf("after replug:\n%s", w2.emu)
	if got, want := w2.emu.Lines(), [2]string{"Bread               ", "               $3.50"}; got != want {
		t.Errorf("replugged display: got %q, want %q", got, want)
	}
}

// gatedPort is a port whose writes wait for the test: a display at 9600
// baud that never finishes, stalled deterministically.
type gatedPort struct {
	gate    chan struct{}
	entered chan struct{}
	closed  chan struct{}
	once    sync.Once
}

func (g *gatedPort) Write(b []byte) (int, error) {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	select {
	case <-g.gate:
		return len(b), nil
	case <-g.closed:
		return 0, io.ErrClosedPipe
	}
}

func (g *gatedPort) Read([]byte) (int, error) {
	<-g.closed
	return 0, os.ErrClosed
}

func (g *gatedPort) Close() error {
	g.once.Do(func() { close(g.closed) })
	return nil
}

// TestSlowPortNeverDelaysDisplays stalls the pole's port in the middle of
// a write and rings up 500 changes: every one reaches a WebSocket display's
// queue (another subscriber of the same stream) at once, and when the port
// moves again the pole writes the latest cart, not a backlog.
func TestSlowPortNeverDelaysDisplays(t *testing.T) {
	port := &gatedPort{gate: make(chan struct{}), entered: make(chan struct{}, 1), closed: make(chan struct{})}
	writes := make(chan pole.Write, 1024)
	p, err := pole.New(pole.Config{Name: "slow"}, pole.Options{Logger: testlog.New(t, slog.LevelDebug),
		Open:  func() (pole.Port, string, error) { return port, "gated", nil },
		Wrote: func(w pole.Write) { writes <- w }})
	if err != nil {
		t.Fatal(err)
	}
	st := stream.New("1", "e1", cart.Empty("1", "USD"), 1024)
	display := stream.NewSub(1024)
	if _, err := st.Subscribe(nil, display); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, st) }()
	<-port.entered // the pole is inside Write, stalled

	const n = 500
	var last cart.Cart
	for i := range n {
		last = openCart("Item", cart.Money(100+i))
		if _, err := st.Publish(last, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(display.C); got != n || display.TakeOverflow() {
		t.Fatalf("display queue while the pole is stalled: got %d frames, want %d and no overflow", got, n)
	}
	close(port.gate)
	waitWrite(t, writes, last)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	close(writes)
	count := 0
	for range writes {
		count++
	}
	// welcome, the latest cart, offline: the 499 carts in between were
	// coalesced away (at most one more if a publish raced the wake-up).
	if count > 4 {
		t.Errorf("writes after a stall of %d changes: got %d, want at most 4", n, count)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, cfg := range []pole.Config{
		{CommandSet: "vt100", Port: pole.PortConfig{Path: "/dev/ttyS0"}},
		{CodePage: "cp999", Port: pole.PortConfig{Path: "/dev/ttyS0"}},
		{Brightness: 5, Port: pole.PortConfig{Path: "/dev/ttyS0"}},
		{Port: pole.PortConfig{}},
		{Port: pole.PortConfig{Path: "/dev/ttyS0", ByID: "x"}},
		{Port: pole.PortConfig{USBVendor: "04b8"}},
		{Port: pole.PortConfig{Path: "/dev/ttyS0", Parity: "mark"}},
		{Port: pole.PortConfig{Path: "/dev/ttyS0"}, Templates: map[string][]string{"welcome": {"{price}"}}},
		{Port: pole.PortConfig{Path: "/dev/ttyS0"}, Templates: map[string][]string{"hello": {"x"}}},
		{Port: pole.PortConfig{Path: "/dev/ttyS0"}, Templates: map[string][]string{"total": {"a|b|c"}}},
		{Port: pole.PortConfig{Path: "/dev/ttyS0"}, Templates: map[string][]string{"total": {"a", "b", "c"}}},
		{Port: pole.PortConfig{Path: "/dev/ttyS0"}, Templates: map[string][]string{"total": {"Total|{total"}}},
	} {
		if _, err := pole.New(cfg, pole.Options{}); !errors.Is(err, pole.ErrConfig) {
			t.Errorf("New(%+v): got %v, want ErrConfig", cfg, err)
		}
	}
}

// TestRestoredCartShowsNoFigure: after a restart the agent serves its
// persisted cart marked restored; the pole shows no figure of it until the
// POS confirms it (re-sends it), and then the cart.
func TestRestoredCartShowsNoFigure(t *testing.T) {
	pty := needPTY(t)
	writes := make(chan pole.Write, 16)
	p, err := pole.New(pole.Config{Name: "restored", Port: pole.PortConfig{Path: pty.Slave}},
		pole.Options{Logger: testlog.New(t, slog.LevelDebug), Wrote: func(w pole.Write) { writes <- w }})
	if err != nil {
		t.Fatal(err)
	}
	cp, _ := pole.LookupCodePage("")
	persisted := openCart("Milk", 199)
	st := stream.New("1", "e2", persisted, 16)
	st.MarkRestored()
	w := newWire(t, pty, "epson", cp)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, st) }()
	defer func() {
		cancel()
		<-done
	}()
	first := <-writes
	w.take(first.Bytes)
	t.Logf("restored:\n%s", w.emu)
	if first.Event != pole.EventRestored || strings.Contains(w.emu.String(), "$") {
		t.Fatalf("restored cart: got %s\n%s, want the restored screen with no amount", first.Event, w.emu)
	}
	if _, err := st.Publish(persisted, time.Now()); err != nil { // the POS confirms
		t.Fatal(err)
	}
	w.take(waitWrite(t, writes, persisted).Bytes)
	t.Logf("confirmed:\n%s", w.emu)
	if got, want := w.emu.Lines(), [2]string{"Milk                ", "               $1.99"}; got != want {
		t.Errorf("confirmed cart: got %q, want %q", got, want)
	}
}
