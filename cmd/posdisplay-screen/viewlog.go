package main

import (
	"log/slog"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// logCarts wraps a view consumer: at debug level it logs each cart the
// screen is given to show ("cart shown", once per stream position), so
// that store IT (and the walkthrough test) can read from the screen's own
// log what it displays, without OCR. Status changes are logged by
// display/client ("status").
func logCarts(log *slog.Logger, show func(client.View)) func(client.View) {
	var last protocol.Position
	return func(v client.View) {
		if v.HasCart && v.Position != last {
			last = v.Position
			log.Debug("cart shown", "register", v.Cart.Register, "order", v.Cart.Order, "state", v.Cart.State,
				"lines", len(v.Cart.Lines), "total", int64(v.Cart.Total), "currency", v.Cart.Currency, "seq", v.Position.Seq, "status", v.Status)
		}
		show(v)
	}
}
