// Package cart is the customer-visible cart model shared by the register agent
// and every display: money, quantities, lines, totals, payment, validation,
// and the line-item delta operations (Diff and Apply) that keep a display's
// replica equal to the agent's cart.
//
// It must stay free of server, network and UI code so that both the agent and
// the Fyne screen can import it: it depends only on the standard library and
// golang.org/x/text/currency for the ISO 4217 list.
package cart
