package protocol

import (
	"unicode/utf16"
	"unicode/utf8"

	"github.com/posdisplay/posdisplay/register/cart"
)

// fastLimit bounds the inputs tried on the fast path: a cart of MaxLines
// lines at their limits is about 250 KiB, but such a message is rare and
// the precise path handles it; 64 KiB keeps what one message can make the
// fast path allocate small.
const fastLimit = 64 << 10

// decodePOSFast decodes a well-formed, valid cart message in one pass over
// its bytes: it checks the JSON grammar, the UTF-8 of every string and the
// schema as it goes, and builds the cart without encoding/json's
// reflection. It accepts only what decodePOSPrecise accepts, with the same
// result (FuzzFastPathAgrees, FuzzDecodePOSAgrees). Anything it is not sure
// of, from a syntax error to a null amount, a duplicate or differently
// cased key, or an invalid cart, returns false and takes the precise path,
// which produces the exact error: this path never makes an error.
//
// The strings of the cart that hold no escapes share one copy of the
// message (one allocation instead of one per string); the cart keeps it
// alive, which costs at most the message's size per register.
func decodePOSFast(data []byte) (PosMessage, bool) { return decodePOSFastWith(data, nil) }

// decodePOSFastWith is decodePOSFast taking the lines d knows (nil: none)
// as they are, and telling d the lines of the cart it decoded.
func decodePOSFastWith(data []byte, d *POSDecoder) (PosMessage, bool) {
	if len(data) > fastLimit {
		return PosMessage{}, false
	}
	s := scanner{data: data, dec: d}
	if d != nil {
		s.seen, s.known = d.spare[:0], d.known[:0]
	}
	s.ws()
	var (
		typ, hasID, hasCart bool
		id                  ID
		c                   *cart.Cart
	)
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "type":
			if typ {
				return false
			}
			typ = true
			v, ok := s.rawString()
			return ok && string(v) == `"cart"`
		case "id":
			if hasID {
				return false
			}
			hasID = true
			return s.id(&id)
		case "cart":
			if hasCart {
				return false
			}
			hasCart = true
			c = new(cart.Cart)
			return s.cart(c)
		}
		return false
	})
	if !ok || !typ || c == nil {
		return PosMessage{}, false
	}
	s.ws()
	if s.i != len(data) || c.ValidateKnown(s.known) != nil {
		return PosMessage{}, false
	}
	if d != nil {
		clear(d.lines) // no strings of the cart before last kept alive
		d.lines, d.spare, d.known, d.hits = s.seen, d.lines[:0], s.known[:0], d.hits+s.hits
	}
	return PosMessage{Type: TypeCart, ID: id, Cart: c}, true
}

// scanner reads one JSON document from data. Every method returns false on
// anything unexpected, leaving the input to the precise path.
type scanner struct {
	data []byte
	i    int
	str  string // string(data), made on the first string value, shared by them

	// With a POSDecoder: the lines it knows (dec.lines) are taken as they
	// are; known marks them in the cart's lines, seen collects every line
	// of this cart for the decoder, hits counts the lines taken.
	dec   *POSDecoder
	known []bool
	seen  []knownLine
	hits  int
}

func (s *scanner) ws() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// eat consumes c, after any whitespace.
func (s *scanner) eat(c byte) bool {
	s.ws()
	if s.i < len(s.data) && s.data[s.i] == c {
		s.i++
		return true
	}
	return false
}

// null consumes a null literal, if that is what comes next.
func (s *scanner) null() bool {
	s.ws()
	if len(s.data)-s.i >= 4 && string(s.data[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// object reads an object and calls member with each key (plain ASCII
// without escapes, else false), positioned at the value. member must read
// the whole value.
func (s *scanner) object(member func(key []byte) bool) bool {
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		return true
	}
	for {
		s.ws()
		key, ok := s.key()
		if !ok || !s.eat(':') {
			return false
		}
		s.ws()
		if !member(key) {
			return false
		}
		if s.eat(',') {
			continue
		}
		return s.eat('}')
	}
}

// key reads an object key. encoding/json matches keys case-insensitively
// and after unescaping; only exact ASCII keys are taken here, and the
// callers' switches on the exact names send every other spelling to the
// precise path.
func (s *scanner) key() ([]byte, bool) {
	if s.i >= len(s.data) || s.data[s.i] != '"' {
		return nil, false
	}
	for j := s.i + 1; j < len(s.data); j++ {
		c := s.data[j]
		if c == '"' {
			k := s.data[s.i+1 : j]
			s.i = j + 1
			return k, true
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return nil, false
		}
	}
	return nil, false
}

// array reads an array of at most max elements, calling elem for each.
func (s *scanner) array(max int, elem func() bool) bool {
	if !s.eat('[') {
		return false
	}
	if s.eat(']') {
		return true
	}
	for n := 0; ; n++ {
		if n == max {
			return false
		}
		s.ws()
		if !elem() {
			return false
		}
		if s.eat(',') {
			continue
		}
		return s.eat(']')
	}
}

// rawStringEsc reads a string and returns its JSON text, quotes included,
// checking that it is valid UTF-8 with no unpaired surrogate escape, as
// checkRawText does. esc reports whether it holds escapes.
func (s *scanner) rawStringEsc() (raw []byte, esc bool, ok bool) {
	d := s.data
	if s.i >= len(d) || d[s.i] != '"' {
		return nil, false, false
	}
	j := s.i + 1
	for j < len(d) {
		c := d[j]
		switch {
		case c == '"':
			raw = d[s.i : j+1]
			s.i = j + 1
			return raw, esc, true
		case c == '\\':
			esc = true
			if j+1 >= len(d) {
				return nil, false, false
			}
			switch d[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				r := hex4(d, j+2)
				if r < 0 {
					return nil, false, false
				}
				j += 6
				if utf16.IsSurrogate(r) {
					// Only a high half followed by a low half is text.
					if r >= 0xDC00 || j+6 > len(d) || d[j] != '\\' || d[j+1] != 'u' {
						return nil, false, false
					}
					if lo := hex4(d, j+2); lo < 0xDC00 || lo > 0xDFFF {
						return nil, false, false
					}
					j += 6
				}
			default:
				return nil, false, false
			}
		case c < 0x20:
			return nil, false, false
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRune(d[j:])
			if r == utf8.RuneError && size == 1 {
				return nil, false, false
			}
			j += size
		}
	}
	return nil, false, false
}

func (s *scanner) rawString() ([]byte, bool) {
	raw, _, ok := s.rawStringEsc()
	return raw, ok
}

// shared returns the message as a string, made once.
func (s *scanner) shared() string {
	if s.str == "" {
		s.str = string(s.data)
	}
	return s.str
}

// string reads a string value; null leaves *dst as it is, as encoding/json
// does (a duplicate key never gets here, so that is the zero value).
func (s *scanner) string(dst *string) bool {
	if s.null() {
		return true
	}
	start := s.i
	raw, esc, ok := s.rawStringEsc()
	if !ok {
		return false
	}
	if !esc {
		*dst = s.shared()[start+1 : s.i-1]
		return true
	}
	*dst = unescape(raw[1 : len(raw)-1])
	return true
}

// unescape decodes the inside of a JSON string already checked by
// rawStringEsc.
func unescape(b []byte) string {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch b[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(b, i+2)
			if utf16.IsSurrogate(r) {
				r = utf16.DecodeRune(r, hex4(b, i+8))
				i += 6
			}
			out = utf8.AppendRune(out, r)
			i += 6
			continue
		default: // '"', '\\', '/'
			out = append(out, b[i+1])
		}
		i += 2
	}
	return string(out)
}

// number reads a number with JSON's grammar and returns its text.
func (s *scanner) number() ([]byte, bool) {
	d, start := s.data, s.i
	j := start
	if j < len(d) && d[j] == '-' {
		j++
	}
	switch {
	case j < len(d) && d[j] == '0':
		j++
	case j < len(d) && d[j] >= '1' && d[j] <= '9':
		for j < len(d) && d[j] >= '0' && d[j] <= '9' {
			j++
		}
	default:
		return nil, false
	}
	if j < len(d) && d[j] == '.' {
		j++
		k := j
		for j < len(d) && d[j] >= '0' && d[j] <= '9' {
			j++
		}
		if j == k {
			return nil, false
		}
	}
	if j < len(d) && (d[j] == 'e' || d[j] == 'E') {
		j++
		if j < len(d) && (d[j] == '+' || d[j] == '-') {
			j++
		}
		k := j
		for j < len(d) && d[j] >= '0' && d[j] <= '9' {
			j++
		}
		if j == k {
			return nil, false
		}
	}
	s.i = j
	return d[start:j], true
}

// money reads an integer amount, as cart.Money's UnmarshalJSON does
// (strconv.ParseInt on the number's text): no fraction, no exponent, no
// overflow, no null.
func (s *scanner) money(dst *cart.Money) bool {
	b, ok := s.number()
	if !ok {
		return false
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' || v > (1<<63)/10 {
			return false
		}
		v = v*10 + uint64(c-'0')
	}
	switch {
	case !neg && v <= 1<<63-1:
		*dst = cart.Money(v)
	case neg && v <= 1<<63:
		*dst = cart.Money(-v)
	default:
		return false
	}
	return true
}

// quantity reads a number or a string holding a decimal, as
// cart.Quantity's UnmarshalJSON does.
func (s *scanner) quantity(dst *cart.Quantity) bool {
	var text string
	if s.i < len(s.data) && s.data[s.i] == '"' {
		if !s.string(&text) {
			return false
		}
	} else {
		start := s.i
		if _, ok := s.number(); !ok {
			return false
		}
		text = s.shared()[start:s.i]
	}
	q, err := cart.ParseQuantity(text)
	if err != nil {
		return false
	}
	*dst = q
	return true
}

// bool reads true or false; null leaves *dst as it is.
func (s *scanner) bool(dst *bool) bool {
	d := s.data[s.i:]
	switch {
	case len(d) >= 4 && string(d[:4]) == "true":
		*dst = true
		s.i += 4
	case len(d) >= 5 && string(d[:5]) == "false":
		*dst = false
		s.i += 5
	default:
		return s.null()
	}
	return true
}

// id reads a message id: null, or a string or integer that ID's
// UnmarshalJSON accepts, kept as its JSON text.
func (s *scanner) id(dst *ID) bool {
	if s.null() {
		*dst = nil
		return true
	}
	var raw []byte
	var ok bool
	if s.i < len(s.data) && s.data[s.i] == '"' {
		raw, ok = s.rawString()
	} else {
		raw, ok = s.number()
	}
	return ok && dst.UnmarshalJSON(raw) == nil
}

// seen marks field bit in *set and reports false if it was already there:
// encoding/json keeps the last of duplicate keys, and such messages take
// the precise path.
func seen(set *uint16, bit uint) bool {
	if *set&(1<<bit) != 0 {
		return false
	}
	*set |= 1 << bit
	return true
}

func (s *scanner) cart(c *cart.Cart) bool {
	var set uint16
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "register":
			return seen(&set, 0) && s.string(&c.Register)
		case "order":
			return seen(&set, 1) && s.string(&c.Order)
		case "currency":
			return seen(&set, 2) && s.string(&c.Currency)
		case "state":
			return seen(&set, 3) && s.string((*string)(&c.State))
		case "lines":
			return seen(&set, 4) && s.lines(c)
		case "subtotal":
			return seen(&set, 5) && s.money(&c.Subtotal)
		case "discount":
			return seen(&set, 6) && s.money(&c.Discount)
		case "taxes":
			return seen(&set, 7) && s.taxes(c)
		case "total":
			return seen(&set, 8) && s.money(&c.Total)
		case "payment":
			return seen(&set, 9) && s.payment(c)
		case "message":
			return seen(&set, 10) && s.string(&c.Message)
		}
		return false
	})
	// A null or missing lines or taxes array is an empty one, as in
	// decodeCart.
	if c.Lines == nil {
		c.Lines = []cart.Line{}
	}
	if c.Taxes == nil {
		c.Taxes = []cart.TaxLine{}
	}
	return ok
}

func (s *scanner) lines(c *cart.Cart) bool {
	if s.null() {
		return true
	}
	c.Lines = make([]cart.Line, 0, 16)
	return s.array(cart.MaxLines, func() bool {
		k := len(c.Lines)
		if s.dec == nil {
			c.Lines = append(c.Lines, cart.Line{})
			return s.line(&c.Lines[k])
		}
		if kl, ok := s.dec.match(s.data[s.i:], k); ok {
			s.i += len(kl.raw)
			c.Lines = append(c.Lines, kl.line)
			s.known = append(s.known, true)
			s.seen = append(s.seen, kl)
			s.hits++
			return true
		}
		start := s.i
		c.Lines = append(c.Lines, cart.Line{})
		if !s.line(&c.Lines[k]) {
			return false
		}
		s.known = append(s.known, false)
		s.seen = append(s.seen, knownLine{raw: s.shared()[start:s.i], line: c.Lines[k]})
		return true
	})
}

func (s *scanner) line(l *cart.Line) bool {
	var set uint16
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return seen(&set, 0) && s.string(&l.ID)
		case "sku":
			return seen(&set, 1) && s.string(&l.SKU)
		case "barcode":
			return seen(&set, 2) && s.string(&l.Barcode)
		case "title":
			return seen(&set, 3) && s.string(&l.Title)
		case "quantity":
			return seen(&set, 4) && s.quantity(&l.Quantity)
		case "unit":
			return seen(&set, 5) && s.string(&l.Unit)
		case "unit_price":
			return seen(&set, 6) && s.money(&l.UnitPrice)
		case "discount":
			return seen(&set, 7) && s.money(&l.Discount)
		case "total":
			return seen(&set, 8) && s.money(&l.Total)
		case "note":
			return seen(&set, 9) && s.string(&l.Note)
		case "return":
			return seen(&set, 10) && s.bool(&l.Return)
		}
		return false
	})
}

func (s *scanner) taxes(c *cart.Cart) bool {
	if s.null() {
		return true
	}
	c.Taxes = make([]cart.TaxLine, 0, 4)
	return s.array(cart.MaxTaxLines, func() bool {
		c.Taxes = append(c.Taxes, cart.TaxLine{})
		t := &c.Taxes[len(c.Taxes)-1]
		var set uint16
		return s.object(func(key []byte) bool {
			switch string(key) {
			case "label":
				return seen(&set, 0) && s.string(&t.Label)
			case "amount":
				return seen(&set, 1) && s.money(&t.Amount)
			case "included":
				return seen(&set, 2) && s.bool(&t.Included)
			}
			return false
		})
	})
}

func (s *scanner) payment(c *cart.Cart) bool {
	if s.null() {
		c.Payment = nil
		return true
	}
	p := new(cart.Payment)
	c.Payment = p
	var set uint16
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "due":
			return seen(&set, 0) && s.money(&p.Due)
		case "tendered":
			return seen(&set, 1) && s.money(&p.Tendered)
		case "change":
			return seen(&set, 2) && s.money(&p.Change)
		case "method":
			return seen(&set, 3) && s.string(&p.Method)
		}
		return false
	})
}
