// Package pairing is the agent's trust model for displays: the registry of
// paired displays and their tokens (kept as SHA-256 hashes in the state
// directory, mode 0600), the pairing requests that unpaired screens open
// (each shows a short code), approval by store IT through the local admin
// endpoint, revocation, and headless provisioning for web displays.
//
// Tokens are compared in constant time; codes expire; wrong codes are rate
// limited and lock approval out for a while. The package owns no sockets:
// the agent mounts its handlers and disconnects revoked displays.
package pairing

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/posdisplay/posdisplay/register/atomicfile"
	"github.com/posdisplay/posdisplay/register/cart"
)

// File names in the state directory.
const (
	DisplaysFile   = "displays.json"
	AdminTokenFile = "admin.token"
)

// ErrUnauthorized is returned for a missing, wrong or revoked token.
var ErrUnauthorized = errors.New("pairing: unauthorized")

// ErrNotFound is returned for an unknown display id.
var ErrNotFound = errors.New("pairing: no such display")

// Display is one paired display as listed to store IT. The token itself is
// never stored, only its hash.
type Display struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Register  string    `json:"register"`
	TokenHash string    `json:"token_sha256"`
	PairedAt  time.Time `json:"paired_at"`
	Via       string    `json:"via"` // "code" or "provisioned"
	// ScreenKey is the key the screen sent when it asked to pair
	// (pairwire.OpenRequest.Key): pairing the same screen again replaces
	// this entry. Empty for provisioned displays and older screens.
	ScreenKey string `json:"screen_key,omitempty"`
	// Addr is the screen's IP address: where it asked to pair from, then
	// where its last connection came from.
	Addr string `json:"addr,omitempty"`
	// LastSeen is when a connection of this display last started or
	// ended, as the agent last saved it (see Registry.Seen); zero: never
	// connected.
	LastSeen time.Time `json:"last_seen,omitzero"`
}

// Registry holds the paired displays of one agent.
type Registry struct {
	path      string
	registers map[string]bool

	mu       sync.Mutex
	displays []Display
	// seenDirty: Seen changed LastSeen/Addr since the last save.
	seenDirty bool
}

// OpenRegistry loads dir/displays.json (missing means none paired).
func OpenRegistry(dir string, registers []string) (*Registry, error) {
	r := &Registry{path: filepath.Join(dir, DisplaysFile), registers: map[string]bool{}}
	for _, reg := range registers {
		r.registers[reg] = true
	}
	data, err := os.ReadFile(r.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return r, nil
	case err != nil:
		return nil, fmt.Errorf("pairing: %w", err)
	}
	if err := json.Unmarshal(data, &r.displays); err != nil {
		return nil, fmt.Errorf("pairing: %s is corrupt (fix or remove it; displays must then be re-paired): %w", r.path, err)
	}
	return r, nil
}

// NewToken returns a random token: 32 bytes, base64url (43 characters).
func NewToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the kernel's RNG never fails on Linux >= 3.17
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "d-" + hex.EncodeToString(b[:])
}

// ValidName checks a display name: 1-64 printable characters.
func ValidName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > 64 || !utf8.ValidString(name) {
		return errors.New("display name must be 1-64 characters")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return errors.New("display name must not contain control characters")
		}
	}
	return nil
}

// Add pairs a new display for register and returns it with its token (the
// only time the token is visible).
func (r *Registry) Add(name, register, via string) (Display, string, error) {
	d, token, _, err := r.add(Display{Name: name, Register: register, Via: via})
	return d, token, err
}

// add saves d as a new display with a new id and token. When d has a
// ScreenKey, the entries with the same key (earlier pairings of the same
// screen) are removed in the same save and returned as replaced.
func (r *Registry) add(d Display) (Display, string, []Display, error) {
	if err := ValidName(d.Name); err != nil {
		return Display{}, "", nil, err
	}
	if !r.registers[d.Register] {
		return Display{}, "", nil, fmt.Errorf("pairing: this agent has no register %q", d.Register)
	}
	token := NewToken()
	d.ID, d.TokenHash, d.PairedAt = newID(), hashToken(token), time.Now().UTC().Truncate(time.Second)
	r.mu.Lock()
	defer r.mu.Unlock()
	var next, replaced []Display
	for _, old := range r.displays {
		if d.ScreenKey != "" && old.ScreenKey == d.ScreenKey {
			replaced = append(replaced, old)
			continue
		}
		next = append(next, old)
	}
	next = append(next, d)
	if err := r.save(next); err != nil {
		return Display{}, "", nil, err
	}
	r.displays = next
	return d, token, replaced, nil
}

// Revoke removes a display; its token stops working at once.
func (r *Registry) Revoke(id string) (Display, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, d := range r.displays {
		if d.ID == id {
			next := append(append([]Display{}, r.displays[:i]...), r.displays[i+1:]...)
			if err := r.save(next); err != nil {
				return Display{}, err
			}
			r.displays = next
			return d, nil
		}
	}
	return Display{}, ErrNotFound
}

// Seen records that a connection of display id started or ended at at,
// from addr (an IP address, or "" to keep the one known). It changes
// memory only; SaveSeen writes it, so that a thousand displays
// reconnecting after a restart cost one write, not a thousand. Unknown
// ids (static tokens) are ignored.
func (r *Registry) Seen(id, addr string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.displays {
		if d := &r.displays[i]; d.ID == id {
			d.LastSeen = at.UTC().Truncate(time.Second)
			if addr != "" {
				d.Addr = addr
			}
			r.seenDirty = true
			return
		}
	}
}

// SaveSeen writes what Seen recorded since the last save, if anything.
func (r *Registry) SaveSeen() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.seenDirty {
		return nil
	}
	return r.save(r.displays)
}

// List returns the paired displays sorted by register, then name.
func (r *Registry) List() []Display {
	r.mu.Lock()
	out := append([]Display{}, r.displays...)
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Register != out[j].Register {
			return out[i].Register < out[j].Register
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Authorize implements the hub's Authorizer: the token must belong to a
// display paired with register. Every entry is compared, in constant time,
// so timing does not reveal which hash matched.
func (r *Registry) Authorize(token, register string) (string, error) {
	if token == "" {
		return "", ErrUnauthorized
	}
	h := []byte(hashToken(token))
	r.mu.Lock()
	defer r.mu.Unlock()
	id := ""
	for _, d := range r.displays {
		if subtle.ConstantTimeCompare(h, []byte(d.TokenHash)) == 1 && d.Register == register {
			id = d.ID
		}
	}
	if id == "" {
		return "", ErrUnauthorized
	}
	return id, nil
}

// save writes ds, which becomes r.displays: what Seen recorded is in it
// too. Callers hold r.mu.
func (r *Registry) save(ds []Display) error {
	if ds == nil {
		ds = []Display{}
	}
	data, err := json.MarshalIndent(ds, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(r.path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("pairing: saving %s: %w", r.path, err)
	}
	r.seenDirty = false
	return nil
}

// LoadOrCreateAdminToken returns the local admin token from dir, creating it
// (mode 0600) on first use. The CLI reads the same file, so only users who
// can read the agent's state directory can pair and revoke.
func LoadOrCreateAdminToken(dir string) (string, error) {
	p := filepath.Join(dir, AdminTokenFile)
	data, err := os.ReadFile(p)
	if err == nil {
		t := strings.TrimSpace(string(data))
		if len(t) < 32 {
			return "", fmt.Errorf("pairing: %s is too short; remove it to create a new one", p)
		}
		return t, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("pairing: %w", err)
	}
	t := NewToken()
	if err := atomicfile.Write(p, []byte(t+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("pairing: %w", err)
	}
	return t, nil
}

// validRegister reports whether register is served here.
func (r *Registry) validRegister(register string) bool {
	return cart.ValidID(register) && r.registers[register]
}
