package protocol

import (
	"github.com/posdisplay/posdisplay/register/cart"
)

// MaxTokenLen bounds a display token, in the hello and in the upgrade
// request.
const MaxTokenLen = 256

// decodeHello decodes a display's hello. Unlike the POS side, it ignores
// fields it does not know: a display built for a later minor revision may
// add optional fields (the versioning rules call that a compatible change),
// and refusing them would lock a newer screen out of an older agent.
// Known fields are still checked for type, and every string for valid
// UTF-8 on the raw bytes.
func decodeHello(data []byte) (Hello, *Error) {
	if err := checkRawText(data); err != nil {
		return Hello{}, err.toError(nil, CodeBadHello)
	}
	var h Hello
	if err := lenient(data, &h, ""); err != nil {
		return Hello{}, err.toError(nil, CodeBadHello)
	}
	if !cart.ValidID(h.Register) {
		return Hello{}, NewError(nil, CodeBadHello, "register", "register must be 1-64 characters of A-Z a-z 0-9 . _ -")
	}
	if len(h.Token) > MaxTokenLen {
		return Hello{}, NewError(nil, CodeUnauthorized, "token", "token too long")
	}
	if h.Resume != nil && len(h.Resume.Epoch) > 64 {
		return Hello{}, NewError(nil, CodeBadHello, "resume.epoch", "epoch too long")
	}
	return h, nil
}

// decodeResync decodes a display's resync request, ignoring unknown fields
// as decodeHello does.
func decodeResync(data []byte) *Error {
	var r Resync
	if err := lenient(data, &r, ""); err != nil {
		return err.toError(nil, CodeBadMessage)
	}
	return nil
}
