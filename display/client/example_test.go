package client_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"

	"github.com/posdisplay/posdisplay/display/client"
)

// A screen builds a client for its register and draws every View. Fyne
// screens wrap the drawing in fyne.Do, since OnView runs on a client
// goroutine.
func ExampleClient() {
	errUntrusted := errors.New("untrusted") // tlsid.ErrUntrusted in the real app
	c, err := client.New(client.Options{
		Register:    "1",
		Token:       os.Getenv("POSDISPLAY_TOKEN"),
		Source:      client.Static{URL: "ws://127.0.0.1:7422/v1/display"},
		Logger:      slog.Default(),
		IsUntrusted: func(err error) bool { return errors.Is(err, errUntrusted) },
		OnView: func(v client.View) {
			if v.Stale() {
				slog.Info("stale", "status", v.Status, "since", v.Since, "why", v.Err)
				return
			}
			slog.Info("cart", "lines", len(v.Cart.Lines), "total", v.Cart.Total, "changed", v.Changed)
		},
	})
	if err != nil {
		slog.Error("display config", "err", err)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	_ = c.Run(ctx) // returns when ctx ends
}
