package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/display/money"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/pole"
	"github.com/posdisplay/posdisplay/register/pole/poletest"
	"github.com/posdisplay/posdisplay/register/testenv"
)

func TestLoadPoleConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.toml")
	conf := `registers = ["1", "2"]
[[pole]]
name = "lane2"
register = "2"
by_id = "usb-Logic_Controls_PD3000-if00-port0"
baud = 9600
parity = "none"
command_set = "cd5220"
code_page = "cp437"
locale = "fr-FR"
brightness = 3
marquee = "250ms"
[pole.templates]
welcome = ["Bonjour !", "Pain frais"]
`
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Poles) != 1 {
		t.Fatalf("poles: got %d, want 1", len(cfg.Poles))
	}
	p := cfg.Poles[0]
	if p.ByID != "usb-Logic_Controls_PD3000-if00-port0" || p.Baud != 9600 || p.CommandSet != "cd5220" || p.Brightness != 3 || time.Duration(p.Marquee) != 250*time.Millisecond ||
		strings.Join(p.Templates["welcome"], "/") != "Bonjour !/Pain frais" {
		t.Errorf("pole config: got %+v", p)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	cfg.Poles = append(cfg.Poles, cfg.Poles[0])
	cfg.Poles[1].Name = "other"
	if err := cfg.Validate(); !slices.Equal(configErrorKeys(err), []string{"pole[1]"}) {
		t.Errorf("Validate with two poles on one port: got %v", err)
	}
	cfg.Poles = cfg.Poles[:1]
	cfg.Poles[0].Register = "9"
	cfg.Poles[0].CommandSet = "vt100"
	err = cfg.Validate()
	if !slices.Contains(configErrorKeys(err), "pole[0].register") {
		t.Errorf("Validate with an unknown register: got %v", err)
	}
}

// amountRE finds en-US dollar amounts on the pole.
var amountRE = regexp.MustCompile(`-?\$[0-9,]+\.[0-9]{2}`)

// screenAmounts are the amounts the screen shows for c, screen by screen
// as package display draws them: the cart screen (open) shows lines, with
// returns negative (display/returns.go), and totals; the payment screen
// due, and tendered and change when not zero (display/payment.go); the
// thank-you screen the change when positive (display/thanks.go); the idle
// screen no amount.
func screenAmounts(c cart.Cart) map[string]bool {
	f := money.Must("en-US", c.Currency, money.Options{})
	out := map[string]bool{}
	add := func(ms ...cart.Money) {
		for _, m := range ms {
			out[f.Format(m)] = true
		}
	}
	p := c.Payment
	switch c.State {
	case cart.StateOpen:
		add(c.Subtotal, c.Discount, c.Total)
		for _, l := range c.Lines {
			if l.Return {
				add(-l.UnitPrice, -l.Total, l.Discount)
			} else {
				add(l.UnitPrice, l.Total, l.Discount)
			}
		}
		for _, tx := range c.Taxes {
			add(tx.Amount)
		}
	case cart.StatePayment:
		if p == nil {
			add(c.Total)
			break
		}
		add(p.Due)
		if p.Tendered != 0 {
			add(p.Tendered)
		}
		if p.Change != 0 {
			add(p.Change)
		}
	case cart.StateComplete:
		if p != nil && p.Change > 0 {
			add(p.Change)
		}
	}
	return out
}

// TestPoleShowsOnlyWhatTheScreenShows runs a sale through a real agent with
// a pole display on a pty and a display client on the WebSocket: at every
// step the pole's cart is the one the display's replica holds, and every
// amount on the pole's glass is one the screen shows for that cart.
func TestPoleShowsOnlyWhatTheScreenShows(t *testing.T) {
	pty, err := poletest.OpenPTY()
	if err != nil {
		testenv.Missing(t, "a pty", "%v", err)
	}
	defer pty.Close()
	cfg := testConfig(t)
	cfg.Poles = []PoleConfig{{Name: "lane1", Register: "1", PortConfig: pole.PortConfig{Path: pty.Slave}}}
	writes := make(chan pole.Write, 64)
	a, err := New(cfg, testLogger(t), Options{PoleWrote: func(_ string, w pole.Write) { writes <- w }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	cp, _ := pole.LookupCodePage("")
	emu := poletest.NewEmulator("epson", cp.Decode)
	wire := make(chan []byte, 64)
	go func() {
		for {
			b := make([]byte, 256)
			n, err := pty.Read(b)
			if err != nil {
				close(wire)
				return
			}
			wire <- b[:n]
		}
	}()
	take := func(n int) {
		t.Helper()
		for n > 0 {
			b := <-wire
			emu.Feed(b)
			n -= len(b)
		}
		if err := emu.Err(); err != nil {
			t.Fatal(err)
		}
	}
	views := make(chan client.View, 256)
	cl, err := client.New(client.Options{Register: "1", Token: testToken, Source: client.Static{URL: "ws://" + a.DisplayAddr().String() + "/v1/display"},
		Logger: testLogger(t), OnView: func(v client.View) { views <- v }})
	if err != nil {
		t.Fatal(err)
	}
	clDone := make(chan error, 1)
	go func() { clDone <- cl.Run(ctx) }()
	defer func() {
		cancel()
		<-clDone
		<-done
	}()
	take((<-writes).Bytes) // welcome

	milk := cart.Line{ID: "l1", Title: "Milk 1L", Quantity: 2000, UnitPrice: 199, Total: 398}
	mug := cart.Line{ID: "r1", Title: "Mug", Quantity: 1000, UnitPrice: 400, Total: 400, Return: true}
	bread := cart.Line{ID: "l2", Title: "Bread", Quantity: 1000, UnitPrice: 350, Discount: 50, Total: 300}
	c := func(st cart.State, pay *cart.Payment, ls ...cart.Line) cart.Cart {
		out := cart.Cart{Register: "1", Order: "A-7", Currency: "USD", State: st, Lines: ls, Taxes: []cart.TaxLine{}, Payment: pay}
		for _, l := range ls {
			if l.Return {
				out.Subtotal -= l.Total
			} else {
				out.Subtotal += l.Total
			}
		}
		out.Total = out.Subtotal
		return out
	}
	steps := []cart.Cart{
		c(cart.StateOpen, nil, milk),
		c(cart.StateOpen, nil, milk, bread),
		c(cart.StateOpen, nil, milk, bread, mug),
		c(cart.StateOpen, nil, milk, mug),
		c(cart.StatePayment, &cart.Payment{Due: -2, Change: 2}, milk, mug), // a refund: due negative
		c(cart.StateComplete, &cart.Payment{Due: -2, Change: 2}, milk, mug),
		c(cart.StateOpen, nil, bread),
		c(cart.StatePayment, &cart.Payment{Due: 300}, bread),
		c(cart.StatePayment, &cart.Payment{Due: 300, Tendered: 300}, bread),
		c(cart.StatePayment, &cart.Payment{Due: 300, Tendered: 500, Change: 200}, bread),
		c(cart.StateComplete, &cart.Payment{Due: 300, Tendered: 500, Change: 200}, bread),
		cart.Empty("1", "USD"),
	}
	for i, want := range steps {
		seq, err := a.Submit(want)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		var w pole.Write
		for w = <-writes; !cart.Equal(w.Cart, want); w = <-writes {
			take(w.Bytes)
		}
		take(w.Bytes)
		var v client.View
		for v = <-views; v.Position.Seq < seq; v = <-views {
		}
		if !cart.Equal(v.Cart, w.Cart) {
			t.Fatalf("step %d: the pole shows a cart the display does not hold:\npole    %+v\ndisplay %+v", i, w.Cart, v.Cart)
		}
		allowed := screenAmounts(v.Cart)
		lines := emu.Lines()
		for _, amt := range amountRE.FindAllString(lines[0]+" "+lines[1], -1) {
			if !allowed[amt] {
				t.Errorf("step %d: the pole shows %s, which the screen does not show (screen: %v)\n%s", i, amt, allowed, emu)
			}
		}
		t.Logf("step %d (%s):\n%s", i, w.Event, emu)
	}
	resp, err := http.Get("http://" + a.POSAddr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health struct {
		Poles []struct {
			Name, Register, Port string
			Connected            bool
			Writes               int
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if err != nil || len(health.Poles) != 1 {
		t.Fatalf("healthz poles: %v, %+v", err, health)
	}
	if hp := health.Poles[0]; hp.Name != "lane1" || hp.Register != "1" || hp.Port != pty.Slave || !hp.Connected || hp.Writes < len(steps) {
		t.Errorf("healthz pole: got %+v, want lane1 on register 1, %s, connected, at least %d writes", hp, pty.Slave, len(steps))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil
	w := <-writes
	take(w.Bytes)
	if w.Event != pole.EventOffline || strings.ContainsAny(emu.Lines()[0]+emu.Lines()[1], "$") {
		t.Errorf("after the agent stopped: got %s\n%s, want the offline screen with no amount", w.Event, emu)
	}
}

// TestPackagedPoleExample uncomments the [[pole]] example of the packaged
// config file: it must load and validate, and every key of a pole table
// must be documented there.
func TestPackagedPoleExample(t *testing.T) {
	b, err := os.ReadFile("../../packaging/agent/agent.toml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, "# [[pole]]")
	if i < 0 {
		t.Fatal("agent.toml has no [[pole]] example")
	}
	var conf strings.Builder
	conf.WriteString("registers = [\"1\"]\n")
	for _, line := range strings.Split(text[i:], "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(line, "#"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue // prose and alternatives
		}
		conf.WriteString(line + "\n")
	}
	path := filepath.Join(t.TempDir(), "agent.toml")
	if err := os.WriteFile(path, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("%v\n%s", err, conf.String())
	}
	if err := cfg.Validate(); err != nil || len(cfg.Poles) != 1 {
		t.Fatalf("Validate: %v, %d poles\n%s", err, len(cfg.Poles), conf.String())
	}
	var keys []string
	for _, typ := range []reflect.Type{reflect.TypeFor[PoleConfig](), reflect.TypeFor[pole.PortConfig]()} {
		for f := range typ.Fields() {
			if tag, _, _ := strings.Cut(f.Tag.Get("toml"), ","); tag != "" {
				keys = append(keys, tag)
			}
		}
	}
	for _, ev := range pole.Events {
		keys = append(keys, string(ev))
	}
	for _, k := range keys {
		if !regexp.MustCompile(`(?m)^#[ #]*`+regexp.QuoteMeta(k)+` = `).MatchString(text[i:]) &&
			!strings.Contains(text[i:], "["+"pole."+k+"]") {
			t.Errorf("agent.toml does not document pole key %q", k)
		}
	}
}
