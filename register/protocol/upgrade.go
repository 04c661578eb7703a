package protocol

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
)

// DisplaySubprotocol is the WebSocket subprotocol of the display socket. A
// display that presents its token in the upgrade request offers it, and
// the agent selects it (browsers fail a handshake whose offered
// subprotocols were all ignored).
const DisplaySubprotocol = "posdisplay.v1"

// tokenSubprotocolPrefix marks the subprotocol entry that carries the
// display token, base64url-encoded without padding (subprotocol names are
// HTTP tokens; a display token may hold any printable characters). It is
// never selected, so the token is not echoed.
const tokenSubprotocolPrefix = "posdisplay.token."

// DisplayUpgrade is the display-socket upgrade request's own authentication:
// the register and token a display presents before any WebSocket exists, so
// that a wrong or missing token costs the agent a refused HTTP request.
type DisplayUpgrade struct {
	Register string // from the register query parameter
	Token    string // from the subprotocol entry, or the token query parameter
}

// ErrUpgradeToken is returned for a token entry that cannot be decoded or
// is too long.
var ErrUpgradeToken = errors.New("display token in the upgrade request: must be base64url, at most 256 bytes decoded")

// DisplaySubprotocols returns what a display offers in
// Sec-WebSocket-Protocol to present token: DisplaySubprotocol, then the
// token entry.
func DisplaySubprotocols(token string) []string {
	return []string{DisplaySubprotocol, tokenSubprotocolPrefix + base64.RawURLEncoding.EncodeToString([]byte(token))}
}

// DisplayUpgradeURL adds the register query parameter to a display socket
// URL (ws://host:7422/v1/display).
func DisplayUpgradeURL(raw, register string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("register", register)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// ParseDisplayUpgrade reads the authentication a display presented in its
// upgrade request: the offered subprotocols (Sec-WebSocket-Protocol, as
// websocket.Subprotocols parses them) and the query. ok is false when no
// token was presented (a version 1 display that sends it in its hello).
func ParseDisplayUpgrade(subprotocols []string, query url.Values) (u DisplayUpgrade, ok bool, err error) {
	u.Register = query.Get("register")
	for _, p := range subprotocols {
		enc, found := strings.CutPrefix(p, tokenSubprotocolPrefix)
		if !found {
			continue
		}
		if base64.RawURLEncoding.DecodedLen(len(enc)) > MaxTokenLen {
			return u, true, ErrUpgradeToken
		}
		b, err := base64.RawURLEncoding.DecodeString(enc)
		if err != nil {
			return u, true, ErrUpgradeToken
		}
		u.Token = string(b)
		return u, true, nil
	}
	if query.Has("token") {
		u.Token = query.Get("token")
		if len(u.Token) > MaxTokenLen {
			return u, true, ErrUpgradeToken
		}
		return u, true, nil
	}
	return u, false, nil
}

// CodeBusy refuses a display's upgrade request before the upgrade (HTTP
// 503, with Retry-After): too many sockets are waiting for their hello,
// from the display's address or in all. A display that presents its token
// in the upgrade request is never refused this way.
const CodeBusy = "busy"
