package pole_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/pole"
	"github.com/posdisplay/posdisplay/register/pole/poletest"
	"github.com/posdisplay/posdisplay/register/stream"
	"github.com/posdisplay/posdisplay/register/testenv"
	"github.com/posdisplay/posdisplay/register/testlog"
)

var update = flag.Bool("update", false, "rewrite the golden byte streams in testdata")

// step is one moment of a sale: the cart the POS sent.
type step struct {
	name string
	cart cart.Cart
}

// sale is a whole sale: add, add, change, add, remove, discount, a return
// (protocol 1.1), payment, tendered with change, complete, clear.
func sale(currency string) []step {
	milk := cart.Line{ID: "l1", Title: "Milk 1L", Quantity: 2000, UnitPrice: 199, Total: 398}
	cafe := cart.Line{ID: "l2", Title: "Café crème", Quantity: 1000, UnitPrice: 250, Total: 250}
	milk3 := milk
	milk3.Quantity, milk3.Total = 3000, 597
	bread := cart.Line{ID: "l3", Title: "Organic wholemeal sourdough loaf", Quantity: 1000, UnitPrice: 450, Total: 450}
	apples := cart.Line{ID: "l4", Title: "Äpfel", Quantity: 1250, Unit: "kg", UnitPrice: 299, Total: 374}
	mug := cart.Line{ID: "r1", Title: "Mug", Quantity: 1000, UnitPrice: 400, Total: 400, Return: true}

	open := func(discount cart.Money, ls ...cart.Line) cart.Cart {
		c := cart.Cart{Register: "1", Order: "A-1", Currency: currency, State: cart.StateOpen, Lines: ls, Taxes: []cart.TaxLine{}, Discount: discount}
		for _, l := range ls {
			if l.Return {
				c.Subtotal -= l.Total
			} else {
				c.Subtotal += l.Total
			}
		}
		c.Total = c.Subtotal - discount
		return c
	}
	final := open(50, milk3, cafe, apples, mug)
	pay := func(st cart.State, tendered cart.Money) cart.Cart {
		c := final
		c.State = st
		c.Payment = &cart.Payment{Due: c.Total, Tendered: tendered, Change: max(0, tendered-c.Total), Method: "cash"}
		return c
	}
	return []step{
		{"add milk", open(0, milk)},
		{"add café", open(0, milk, cafe)},
		{"change milk quantity", open(0, milk3, cafe)},
		{"add bread (long title)", open(0, milk3, cafe, bread)},
		{"remove bread", open(0, milk3, cafe)},
		{"add weighed apples", open(0, milk3, cafe, apples)},
		{"cart discount", open(50, milk3, cafe, apples)},
		{"return a mug", final},
		{"payment", pay(cart.StatePayment, 0)},
		{"tendered", pay(cart.StatePayment, 2000)},
		{"complete", pay(cart.StateComplete, 2000)},
		{"clear", cart.Empty("1", currency)},
	}
}

// needPTY skips without /dev/ptmx, or fails under CI=true.
func needPTY(t *testing.T) *poletest.PTY {
	t.Helper()
	p, err := poletest.OpenPTY()
	if err != nil {
		testenv.Missing(t, "a pty", "%v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// wire collects what a pole wrote to a pty and feeds it to an emulator.
type wire struct {
	t     *testing.T
	pty   *poletest.PTY
	emu   *poletest.Emulator
	bytes chan []byte
}

func newWire(t *testing.T, pty *poletest.PTY, set string, cp *pole.CodePage) *wire {
	w := &wire{t: t, pty: pty, emu: poletest.NewEmulator(set, cp.Decode), bytes: make(chan []byte, 64)}
	go func() {
		defer close(w.bytes)
		for {
			buf := make([]byte, 256)
			n, err := pty.Read(buf)
			if n > 0 {
				w.bytes <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	return w
}

// take reads exactly n bytes from the wire and feeds them to the emulator.
func (w *wire) take(n int) []byte {
	w.t.Helper()
	var got []byte
	timeout := time.After(10 * time.Second) // a bound on a hang, not a synchronisation
	for len(got) < n {
		select {
		case b, ok := <-w.bytes:
			if !ok {
				w.t.Fatalf("pty closed after %d of %d bytes", len(got), n)
			}
			got = append(got, b...)
		case <-timeout:
			w.t.Fatalf("got %d of %d bytes from the pty", len(got), n)
		}
	}
	if len(got) != n {
		w.t.Fatalf("got %d bytes from the pty, want %d: % x", len(got), n, got)
	}
	w.emu.Feed(got)
	if err := w.emu.Err(); err != nil {
		w.t.Fatal(err)
	}
	return got
}

// dump writes bytes as hex, with printable runs quoted.
func dump(b []byte, cp *pole.CodePage) string {
	var out []string
	var run []rune
	flush := func() {
		if run != nil {
			out = append(out, fmt.Sprintf("%q", string(run)))
			run = nil
		}
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 0x20 && c != 0x7f {
			run = append(run, cp.Decode(c))
			continue
		}
		flush()
		// A command and its arguments stay together.
		n := 1
		switch c {
		case 0x1b:
			n = 3
			if i+1 < len(b) && b[i+1] == '@' {
				n = 2
			}
			if i+1 < len(b) && b[i+1] == 'l' {
				n = 4
			}
		case 0x1f:
			n = 3
			if i+1 < len(b) && b[i+1] == '$' {
				n = 4
			}
		}
		n = min(n, len(b)-i)
		out = append(out, fmt.Sprintf("% x", b[i:i+n]))
		i += n - 1
	}
	flush()
	return strings.Join(out, " ")
}

func TestSaleGolden(t *testing.T) {
	for _, tc := range []struct {
		set, codePage, locale, currency string
	}{
		{"epson", "cp437", "en-US", "USD"},
		{"epson", "cp858", "de-DE", "EUR"},
		{"cd5220", "cp437", "fr-FR", "EUR"},
	} {
		name := fmt.Sprintf("%s-%s-%s-%s", tc.set, tc.codePage, tc.locale, tc.currency)
		t.Run(name, func(t *testing.T) {
			pty := needPTY(t)
			cp, _ := pole.LookupCodePage(tc.codePage)
			writes := make(chan pole.Write, 16)
			p, err := pole.New(pole.Config{Name: "test", Port: pole.PortConfig{Path: pty.Slave}, CommandSet: tc.set, CodePage: tc.codePage, Locale: tc.locale},
				pole.Options{Logger: testlog.New(t, slog.LevelDebug), Wrote: func(w pole.Write) { writes <- w }})
			if err != nil {
				t.Fatal(err)
			}
			st := stream.New("1", "e1", cart.Empty("1", tc.currency), 16)
			w := newWire(t, pty, tc.set, cp)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx, st) }()

			var golden bytes.Buffer
			record := func(title string) {
				t.Helper()
				wr := <-writes
				b := w.take(wr.Bytes)
				fmt.Fprintf(&golden, "## %s (%s)\n%s\n%s\n\n", title, wr.Event, dump(b, cp), w.emu)
				t.Logf("%s:\n%s", title, w.emu)
				if got, want := w.emu.Lines(), wr.Screen.Text(cp); got != want {
					t.Errorf("%s: emulator shows %q, pole meant %q", title, got, want)
				}
			}
			record("start (idle)")
			for _, s := range sale(tc.currency) {
				if err := s.cart.Validate(); err != nil {
					t.Fatalf("%s: test cart invalid: %v", s.name, err)
				}
				if _, err := st.Publish(s.cart, time.Now()); err != nil {
					t.Fatal(err)
				}
				record(s.name)
			}
			cancel()
			record("agent stops")
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if w.emu.Cursor || w.emu.Inits != 1 {
				t.Errorf("cursor shown %v, inits %d: want hidden, 1", w.emu.Cursor, w.emu.Inits)
			}
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, golden.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(golden.Bytes(), want) {
				t.Errorf("byte stream differs from %s (run with -update after checking the screens):\ngot:\n%s", path, golden.Bytes())
			}
		})
	}
}
