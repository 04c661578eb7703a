// Package enroll is a screen's side of pairing: it asks an agent for a
// pairing code, waits for store IT to approve it, keeps the resulting
// credentials (token and certificate pin, mode 0600), and turns discovery
// results into pinned connection targets for display/client.
//
// It never imports Fyne: screens show the code it returns however they like.
package enroll

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/posdisplay/posdisplay/discovery"
	"github.com/posdisplay/posdisplay/register/atomicfile"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/pairing/pairwire"
	"github.com/posdisplay/posdisplay/register/tlsid"
)

// Credentials are what a paired screen keeps: whom it trusts and how it
// proves itself.
type Credentials struct {
	AgentID     string    `json:"agent"`
	Register    string    `json:"register"`
	DisplayID   string    `json:"display"`
	Token       string    `json:"token"`
	Fingerprint string    `json:"fingerprint"`
	Addr        string    `json:"addr"` // host:port where pairing happened
	PairedAt    time.Time `json:"paired_at"`
}

// Validate checks credentials read from disk.
func (c *Credentials) Validate() error {
	switch {
	case discovery.ValidateID(c.AgentID) != nil:
		return errors.New("agent id")
	case !cart.ValidID(c.Register):
		return errors.New("register id")
	case c.Token == "" || len(c.Token) > 256:
		return errors.New("token")
	case discovery.ValidateFingerprint(c.Fingerprint) != nil:
		return errors.New("fingerprint")
	case c.DisplayID != "" && !cart.ValidID(c.DisplayID):
		return errors.New("display id")
	}
	return nil
}

// validOpen checks what an agent not yet trusted answers to a pairing
// request: the code is shown on screen, the request id goes into a URL and
// the secret into a header.
func validOpen(o pairwire.OpenResponse) error {
	switch {
	case len(o.Code) > 16 || len(pairwire.NormalizeCode(o.Code)) != pairwire.CodeLen:
		return errors.New("pairing code")
	case !isHex(o.Request, 64):
		return errors.New("request id")
	case !isHex(o.Secret, 128):
		return errors.New("request secret")
	case discovery.ValidateID(o.Agent) != nil:
		return errors.New("agent id")
	}
	return nil
}

// isHex reports whether s is 1 to max lowercase hex digits.
func isHex(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ErrNotPaired is returned by Load when the screen has no credentials yet.
var ErrNotPaired = errors.New("enroll: this screen is not paired")

// Load reads credentials from path.
func Load(path string) (*Credentials, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotPaired
	}
	if err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("enroll: %s is corrupt (remove it to pair again): %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("enroll: %s has a bad %v (remove it to pair again)", path, err)
	}
	return &c, nil
}

// Save writes credentials to path atomically with mode 0600.
func Save(path string, c Credentials) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(data, '\n'), 0o600)
}

// ErrFingerprintMismatch means the agent answering the pairing request did
// not present the certificate that was announced for it (or that it claims
// in its answer): someone is in the middle.
var ErrFingerprintMismatch = errors.New("enroll: the agent's certificate does not match its announcement")

// Pending is an open pairing request: show Code on the screen and call Wait.
type Pending struct {
	Code        string
	Agent       string
	Fingerprint string
	Addr        string
	Expires     time.Time // when the agent forgets the code

	client *http.Client
	id     string
	secret string
}

// firstContact is an HTTPS client for an agent not yet trusted: it accepts
// any certificate but records the fingerprint it saw, and refuses one that
// differs from expect (when known, from the mDNS announcement).
func firstContact(expect string, seen *string) *http.Client {
	var mu sync.Mutex
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // the pin is learned here and checked below
		MinVersion:         tls.VersionTLS13,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return ErrFingerprintMismatch
			}
			fp := tlsid.Fingerprint(cs.PeerCertificates[0])
			if expect != "" && !strings.EqualFold(fp, expect) {
				return fmt.Errorf("%w: got %s, announced %s", ErrFingerprintMismatch, fp, expect)
			}
			mu.Lock()
			*seen = fp
			mu.Unlock()
			return nil
		},
	}}}
}

// Screen is who asks to pair.
type Screen struct {
	Name string // how store IT sees the screen
	// Key is the screen's own key (see LoadOrCreateKey), so that the
	// agent replaces this screen's earlier entries; "" sends none.
	Key string
}

// Request opens a pairing request at the agent's display listener addr
// ("host:port") for screen s. expectFP is the announced certificate
// fingerprint, or "" when the address was configured by hand. An agent
// older than pairing version 2 refuses the key (bad_json): the request is
// then sent again without it.
func Request(ctx context.Context, addr string, s Screen, expectFP string) (*Pending, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("enroll: agent address %q: %w", addr, err)
	}
	var seen string
	c := firstContact(expectFP, &seen)
	var o pairwire.OpenResponse
	err := open(ctx, c, addr, pairwire.OpenRequest{Name: s.Name, Key: s.Key}, &o)
	if se, ok := errors.AsType[*StatusError](err); ok && s.Key != "" && se.Status == http.StatusBadRequest && se.Code == pairwire.CodeBadJSON {
		err = open(ctx, c, addr, pairwire.OpenRequest{Name: s.Name}, &o)
	}
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(o.Fingerprint, seen) {
		return nil, fmt.Errorf("%w: agent says %s, presented %s", ErrFingerprintMismatch, o.Fingerprint, seen)
	}
	if err := validOpen(o); err != nil {
		return nil, fmt.Errorf("enroll: the agent sent a bad %v", err)
	}
	// A hostile or broken agent must not make the screen show a countdown
	// of years (or a negative one).
	ttl := time.Duration(min(max(o.ExpiresIn, 0), 3600)) * time.Second
	return &Pending{Code: o.Code, Agent: o.Agent, Expires: time.Now().Add(ttl), Fingerprint: strings.ToLower(seen), Addr: addr, client: c, id: o.Request, secret: o.Secret}, nil
}

// open POSTs one pairing request.
func open(ctx context.Context, c *http.Client, addr string, body pairwire.OpenRequest, o *pairwire.OpenResponse) error {
	data, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+pairwire.PathOpen, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return do(c, req, http.StatusCreated, o)
}

// KeyFile is the screen key's file name in a screen's state directory.
const KeyFile = "screen.key"

// LoadOrCreateKey returns the screen key kept in path, making one (32 hex
// digits, mode 0600) on first use. Unpairing keeps it: the key names the
// screen, not its pairing. A file that does not hold a valid key is
// replaced.
func LoadOrCreateKey(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		if k := strings.TrimSpace(string(data)); pairwire.ValidKey(k) {
			return k, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("enroll: screen key: %w", err)
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	k := hex.EncodeToString(b[:])
	if err := atomicfile.Write(path, []byte(k+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("enroll: screen key: %w", err)
	}
	return k, nil
}

// Wait polls every interval until the request is approved (returning the
// credentials, not yet saved), expires, or ctx ends.
func (p *Pending) Wait(ctx context.Context, interval time.Duration) (Credentials, error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+p.Addr+pairwire.PathPoll+p.id, nil)
		if err != nil {
			return Credentials{}, err
		}
		req.Header.Set("Authorization", "Bearer "+p.secret)
		var r pairwire.PollResponse
		err = do(p.client, req, http.StatusOK, &r)
		switch {
		case err != nil && ctx.Err() != nil:
			return Credentials{}, ctx.Err()
		case err != nil:
			var se *StatusError
			if errors.As(err, &se) && se.Status == http.StatusNotFound {
				return Credentials{}, fmt.Errorf("enroll: the pairing code expired: %w", err)
			}
			// transient: keep polling
		case r.Status == pairwire.StatusApproved:
			if !strings.EqualFold(r.Fingerprint, p.Fingerprint) {
				return Credentials{}, fmt.Errorf("%w: approval names %s, presented %s", ErrFingerprintMismatch, r.Fingerprint, p.Fingerprint)
			}
			c := Credentials{AgentID: r.Agent, Register: r.Register, DisplayID: r.Display, Token: r.Token,
				Fingerprint: p.Fingerprint, Addr: p.Addr, PairedAt: time.Now().UTC().Truncate(time.Second)}
			if err := c.Validate(); err != nil {
				return Credentials{}, fmt.Errorf("enroll: the agent sent a bad %v", err)
			}
			return c, nil
		}
		select {
		case <-ctx.Done():
			return Credentials{}, ctx.Err()
		case <-t.C:
		}
	}
}

// StatusError is an HTTP answer other than the expected one.
type StatusError struct {
	Status  int
	Code    string
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("agent answered %d %s: %s", e.Status, e.Code, e.Message)
}

func do(c *http.Client, req *http.Request, want int, out any) error {
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	if resp.StatusCode != want {
		var e pairwire.ErrorResponse
		_ = json.Unmarshal(data, &e)
		return &StatusError{Status: resp.StatusCode, Code: e.Code, Message: e.Message}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("enroll: bad answer from the agent: %w", err)
	}
	return nil
}
