// Package display draws the customer-facing screens of posdisplay with Fyne:
// idle branding, the cart, payment, "thank you" and the connection states. A
// Display takes immutable client.View values and switches screens by the
// cart's state and the connection's status. It owns the theme (store colours,
// logo, font, sizes scaled to the window) and the rule that a customer never
// sees a wrong price: a stale cart is marked at once and its money hidden
// after Config.Timing.StaleHide.
//
// It must not talk to the network (display/client does), must not create the
// Fyne app (cmd/posdisplay-screen does, so that this package tests headless
// with fyne.io/fyne/v2/test), and changes widgets only on the UI thread:
// Show runs there, Update and Run hop onto it with fyne.Do.
package display
