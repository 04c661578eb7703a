package pole

import (
	"fmt"
	"strings"

	"golang.org/x/text/language"
)

// Event is what just happened at the register, as pole display drivers
// name it; each event has its own two-row template.
type Event string

// The events, in the order a sale moves through them.
const (
	EventWelcome    Event = "welcome"     // no sale, or a sale with no lines yet
	EventItem       Event = "item"        // a line was added or changed
	EventReturn     Event = "return"      // a return line was added or changed
	EventTotal      Event = "total"       // lines removed, or a discount: the new total
	EventPay        Event = "pay"         // payment started: what is due
	EventPaid       Event = "paid"        // part or all tendered, no change
	EventPaidChange Event = "paid_change" // tendered with change to give
	EventChange     Event = "change"      // sale complete, change to give
	EventThanks     Event = "thanks"      // sale complete, no change
	EventOffline    Event = "offline"     // the pole no longer follows the register
	// EventRestored: the register restarted and serves the cart it
	// persisted, which the POS has not confirmed yet (docs/protocol.md,
	// "Restored carts"). Screens show its figures marked "Updating…" and
	// hide them after a few seconds; a pole cannot mark a figure, so it
	// shows none until the POS confirms or replaces the cart.
	EventRestored Event = "restored"
)

// Events lists every event, for config checks and docs.
var Events = []Event{EventWelcome, EventItem, EventReturn, EventTotal, EventPay, EventPaid, EventPaidChange, EventChange, EventThanks, EventOffline, EventRestored}

// Placeholders a template row may use. Amounts are formatted for the
// pole's locale and the cart's currency by display/money, as on the screen;
// a return line's amounts are negative, as on the screen.
var placeholders = map[string]bool{
	"title":    true, // the focused line's title
	"qty":      true, // its quantity and unit ("2", "1.25 kg")
	"qtyx":     true, // "2 x " or "1.25 kg ", nothing for one counted item
	"unit":     true, // its unit price
	"amount":   true, // its total
	"subtotal": true, "discount": true, "total": true,
	"due": true, "tendered": true, "change": true,
}

// Template is one event's two rows. A row is "left|right": the left part
// is cut to fit, the right part (an amount) is right-aligned and never cut.
// A row without "|" is left text only.
type Template [Rows]string

// Templates maps every event to its rows.
type Templates map[Event]Template

// defaultTemplates are the built-in texts by language. Keep each left part
// short: a 20-cell row also holds the amount.
var defaultTemplates = map[string]Templates{
	"en": {
		EventWelcome: {"Welcome!", ""}, EventItem: {"{qtyx}{title}", "|{amount}"},
		EventReturn: {"Return {qtyx}{title}", "|{amount}"}, EventTotal: {"Total|{total}", ""},
		EventPay: {"To pay|{due}", ""}, EventPaid: {"To pay|{due}", "Paid|{tendered}"},
		EventPaidChange: {"Paid|{tendered}", "Change|{change}"}, EventChange: {"Change|{change}", "Thank you!"},
		EventThanks: {"Thank you!", "Please come again"}, EventOffline: {"Register offline", "Ask the cashier"},
		EventRestored: {"Updating…", "One moment please"},
	},
	"de": {
		EventWelcome: {"Willkommen!", ""}, EventItem: {"{qtyx}{title}", "|{amount}"},
		EventReturn: {"Rückgabe {qtyx}{title}", "|{amount}"}, EventTotal: {"Summe|{total}", ""},
		EventPay: {"Zu zahlen|{due}", ""}, EventPaid: {"Zu zahlen|{due}", "Gegeben|{tendered}"},
		EventPaidChange: {"Gegeben|{tendered}", "Rückgeld|{change}"}, EventChange: {"Rückgeld|{change}", "Vielen Dank!"},
		EventThanks: {"Vielen Dank!", "Auf Wiedersehen"}, EventOffline: {"Kasse offline", "Bitte Personal rufen"},
		EventRestored: {"Aktualisiere…", "Einen Moment bitte"},
	},
	"fr": {
		EventWelcome: {"Bienvenue !", ""}, EventItem: {"{qtyx}{title}", "|{amount}"},
		EventReturn: {"Retour {qtyx}{title}", "|{amount}"}, EventTotal: {"Total|{total}", ""},
		EventPay: {"À payer|{due}", ""}, EventPaid: {"À payer|{due}", "Reçu|{tendered}"},
		EventPaidChange: {"Reçu|{tendered}", "Rendu|{change}"}, EventChange: {"Rendu|{change}", "Merci !"},
		EventThanks: {"Merci !", "À bientôt"}, EventOffline: {"Caisse hors ligne", "Voir le caissier"},
		EventRestored: {"Mise à jour…", "Un instant SVP"},
	},
}

// DefaultTemplates returns the built-in templates for locale's language
// (English when there are none for it).
func DefaultTemplates(locale string) Templates {
	base := "en"
	if tag, err := language.Parse(locale); err == nil {
		b, _ := tag.Base()
		base = b.String()
	}
	d, ok := defaultTemplates[base]
	if !ok {
		d = defaultTemplates["en"]
	}
	out := Templates{}
	for k, v := range d {
		out[k] = v
	}
	return out
}

// Merge returns the templates for locale with overrides laid over them,
// after checking every override.
func Merge(locale string, overrides map[string][]string) (Templates, error) {
	t := DefaultTemplates(locale)
	for name, rows := range overrides {
		ev := Event(name)
		if _, ok := t[ev]; !ok {
			return nil, fmt.Errorf("%w: unknown template %q (want one of %v)", ErrConfig, name, Events)
		}
		if len(rows) > Rows {
			return nil, fmt.Errorf("%w: template %q has %d rows, a pole display has %d", ErrConfig, name, len(rows), Rows)
		}
		var tp Template
		copy(tp[:], rows)
		for _, row := range tp {
			if err := checkRow(row); err != nil {
				return nil, fmt.Errorf("%w: template %q: %w", ErrConfig, name, err)
			}
		}
		t[ev] = tp
	}
	return t, nil
}

// checkRow refuses unknown placeholders, unclosed braces and a second "|".
func checkRow(row string) error {
	if strings.Count(row, "|") > 1 {
		return fmt.Errorf("row %q has more than one |", row)
	}
	for s := row; ; {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return fmt.Errorf("row %q: unclosed {", row)
		}
		if name := s[i+1 : i+j]; !placeholders[name] {
			return fmt.Errorf("row %q: unknown placeholder {%s}", row, name)
		}
		s = s[i+j+1:]
	}
}

// expand replaces every {name} in s with vals[name].
func expand(s string, vals func(string) string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		j := strings.IndexByte(s[max(i, 0):], '}')
		if i < 0 || j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(vals(s[i+1 : i+j]))
		s = s[i+j+1:]
	}
}
