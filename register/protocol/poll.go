package protocol

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// The polling transport (docs/protocol.md, "Polling transport"): for a
// display that cannot open a WebSocket, each HTTP request carries one hello
// and its answer is what the socket would have sent after that hello, held
// until there is something newer than the hello's resume position.
const (
	// PollPath is the endpoint of the polling transport, on the display
	// listener beside the display socket.
	PollPath = "/v1/display/poll"
	// MaxPollWait is the longest the agent holds a poll, and the hold when
	// the request names none: below the 30 s after which common proxies and
	// mobile browsers give up on a quiet request.
	MaxPollWait = 25 * time.Second
	// MaxPollBody bounds a poll's body, a hello: the limit of a display's
	// socket message.
	MaxPollBody = 4096
)

// Poll is a decoded poll request.
type Poll struct {
	// Hello is the request body: which register, the token, and the
	// position the display holds (Resume). Without Resume the answer is a
	// snapshot, as after a resync.
	Hello Hello
	// Wait is how long the agent may hold the request when nothing is
	// newer than Resume: MaxPollWait unless the query's wait (milliseconds)
	// names less. 0 answers at once.
	Wait time.Duration
}

// DecodePoll decodes a poll request from its raw query string and body. The
// query may hold wait (milliseconds, 0 to MaxPollWait) besides what the
// socket's upgrade URL holds (register, features), which it ignores; the
// body is a hello, decoded as on the socket. The register of the hello is
// the one followed; a register in the query must be the same.
func DecodePoll(rawQuery string, body []byte) (Poll, *Error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return Poll{}, NewError(nil, CodeBadMessage, "query", "the poll URL's query does not parse")
	}
	p := Poll{Wait: MaxPollWait}
	if w, ok := q["wait"]; ok {
		ms, err := strconv.ParseUint(w[0], 10, 32)
		if err != nil || len(w) > 1 || time.Duration(ms)*time.Millisecond > MaxPollWait {
			return Poll{}, NewError(nil, CodeBadMessage, "wait", "wait must be one whole number of milliseconds, 0 to 25000")
		}
		p.Wait = time.Duration(ms) * time.Millisecond
	}
	if len(body) > MaxPollBody {
		return Poll{}, NewError(nil, CodeTooLarge, "", "a poll's body is one hello, at most 4096 bytes")
	}
	m, perr := DecodeDisplay(body)
	if perr != nil {
		return Poll{}, perr
	}
	if m.Type != TypeHello {
		return Poll{}, NewError(nil, CodeBadHello, "type", "a poll's body must be a hello")
	}
	if r, ok := q["register"]; ok && (len(r) > 1 || r[0] != m.Hello.Register) {
		return Poll{}, NewError(nil, CodeBadHello, "register", "the hello names another register than the poll URL")
	}
	p.Hello = m.Hello
	return p, nil
}

// SplitPollAnswer splits the body of a poll's 200 answer, a JSON array of
// display messages, into the messages, each to be decoded with
// DecodeServer.
func SplitPollAnswer(body []byte) ([]json.RawMessage, error) {
	var msgs []json.RawMessage
	if err := json.Unmarshal(body, &msgs); err != nil {
		return nil, fmt.Errorf("poll answer: %w", err)
	}
	return msgs, nil
}
