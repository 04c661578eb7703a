package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/display/money"
	"github.com/posdisplay/posdisplay/register/cart"
)

// watch prints the live cart of a register as a display sees it: a terminal
// display for demos and for store IT checking an agent without a screen.
func watch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("agent", "ws://127.0.0.1:7422/v1/display", "display endpoint of the agent")
	register := fs.String("register", "1", "register to follow")
	token := fs.String("token", "", "display token")
	locale := fs.String("locale", "en-US", "locale for money formatting")
	if err := fs.Parse(args); err != nil {
		return err
	}
	reg := *register
	c, err := client.New(client.Options{
		Register: *register,
		Token:    *token,
		Source:   client.Static{URL: *url},
		Logger:   slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var last string
	for {
		select {
		case err := <-done:
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		case v := <-c.Views():
			if s := renderText(reg, v, *locale); s != last {
				fmt.Fprint(stdout, s)
				last = s
			}
		}
	}
}

// renderText draws a View as plain text.
func renderText(register string, v client.View, locale string) string {
	var b strings.Builder
	b.WriteString("\n────────────────────────────────────────────────────────\n")
	fmt.Fprintf(&b, "register %s  %s", register, v.Status)
	if v.Err != "" {
		fmt.Fprintf(&b, " (%s)", v.Err)
	}
	if v.HasCart {
		fmt.Fprintf(&b, "  seq %d", v.Position.Seq)
	}
	b.WriteString("\n")
	if !v.HasCart {
		return b.String()
	}
	c := v.Cart
	f, err := money.New(locale, c.Currency, money.Options{})
	if err != nil {
		fmt.Fprintf(&b, "cannot format %s: %v\n", c.Currency, err)
		return b.String()
	}
	if v.Stale() {
		b.WriteString("!! STALE: the register is not connected; prices may be out of date\n")
	}
	if v.Restored && !v.Stale() {
		b.WriteString("!! UPDATING: cart restored after an agent restart, not yet confirmed by the POS\n")
	}
	fmt.Fprintf(&b, "state %s  order %s\n", c.State, c.Order)
	changed := map[string]bool{}
	for _, id := range v.Changed {
		changed[id] = true
	}
	for _, l := range c.Lines {
		mark := " "
		if changed[l.ID] {
			mark = "*"
		}
		qty := l.Quantity.String()
		if l.Unit != "" {
			qty += " " + l.Unit
		}
		// A returned item (protocol revision 1.1): marked, its amounts
		// negative; its discount is kept from the refund.
		title, unit, total, disc := l.Title, l.UnitPrice, l.Total, -l.Discount
		if l.Return {
			title, unit, total, disc = "RETURN "+l.Title, -unit, -total, l.Discount
		}
		fmt.Fprintf(&b, "%s %8s  %-34s %10s %11s\n", mark, qty, clipText(title, 34), f.Format(unit), f.Format(total))
		if l.Discount > 0 {
			fmt.Fprintf(&b, "  %8s  %-34s %10s %11s\n", "", "  discount", "", f.Format(disc))
		}
	}
	row := func(label string, m cart.Money) { fmt.Fprintf(&b, "%58s %11s\n", label, f.Format(m)) }
	row("Subtotal", c.Subtotal)
	if c.Discount > 0 {
		row("Discount", -c.Discount)
	}
	for _, t := range c.Taxes {
		label := t.Label
		if t.Included {
			label += " (incl.)"
		}
		row(clipText(label, 58), t.Amount)
	}
	row("TOTAL", c.Total)
	if p := c.Payment; p != nil {
		row("Due", p.Due)
		row("Tendered ("+p.Method+")", p.Tendered)
		row("Change", p.Change)
	}
	if c.Message != "" {
		fmt.Fprintf(&b, "%s\n", c.Message)
	}
	return b.String()
}

func clipText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
