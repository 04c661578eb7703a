package discovery

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ServiceType is the DNS-SD service type every agent announces.
const ServiceType = "_posdisplay._tcp"

// Domain is the mDNS domain.
const Domain = "local."

// ProtocolVersion is the display protocol version this build speaks and
// announces in the "pv" TXT key.
const ProtocolVersion = 1

// TXT keys. Short keys keep the record well under the 1300-byte budget
// RFC 6763 section 6.2 recommends for a single packet.
const (
	keyProtocolVersion = "pv"
	keyAgentID         = "aid"
	keyRegisterID      = "rid"
	keyName            = "name"
	keyFingerprint     = "fp"
)

// Limits for TXT values.
const (
	// MaxIDLen keeps "<agent>-<register>" within the 63-byte DNS label limit.
	MaxIDLen = 31
	// MaxNameLen is in bytes of UTF-8; a customer display shows a short
	// name, and a TXT string (key=value) may not exceed 255 bytes.
	MaxNameLen = 64
	// fingerprintLen is a SHA-256 digest in lowercase hex.
	fingerprintLen = 64
	// maxTXTStrings bounds the work a hostile record can cause.
	maxTXTStrings = 32
	// maxProtocolVersion bounds the "pv" value we bother parsing.
	maxProtocolVersion = 9999
)

// ErrInvalidRecord is wrapped by every error about a malformed or missing
// TXT field, so callers can tell "this announcement is garbage" from other
// failures with errors.Is.
var ErrInvalidRecord = errors.New("discovery: invalid announcement record")

// ErrUnsupportedVersion is wrapped when the announcement is well formed but
// uses a protocol version this build does not speak. Use errors.As with
// *VersionError to learn the version.
var ErrUnsupportedVersion = errors.New("discovery: unsupported protocol version")

// VersionError reports an announcement with a protocol version other than
// ProtocolVersion.
type VersionError struct {
	Got int // version the register announces
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("discovery: register speaks protocol version %d, this build speaks %d", e.Got, ProtocolVersion)
}

// Unwrap lets errors.Is(err, ErrUnsupportedVersion) match.
func (e *VersionError) Unwrap() error { return ErrUnsupportedVersion }

// Record is the typed content of an announcement's TXT record.
//
// Wire form (RFC 6763 key=value strings, keys case-insensitive, first
// occurrence wins, unknown keys ignored for forward compatibility):
//
//	pv=1                 protocol version, decimal
//	aid=<agent id>       1..31 of [A-Za-z0-9_-]
//	rid=<register id>    1..31 of [A-Za-z0-9_-]
//	name=<display name>  1..64 bytes of printable UTF-8
//	fp=<fingerprint>     SHA-256 of the agent's certificate DER, 64 lowercase hex digits
type Record struct {
	ProtocolVersion int    // "pv"
	AgentID         string // "aid": stable ID of the agent (one per register terminal)
	RegisterID      string // "rid": ID of the register served by that agent
	Name            string // "name": human-friendly name shown at pairing, e.g. "Till 2"
	Fingerprint     string // "fp": see register/tlsid.Fingerprint
}

// Key identifies one register: the pair the display is paired with.
type Key struct {
	AgentID    string
	RegisterID string
}

// String returns "agent/register" for logs.
func (k Key) String() string { return k.AgentID + "/" + k.RegisterID }

// Key returns the register's identity.
func (r Record) Key() Key { return Key{AgentID: r.AgentID, RegisterID: r.RegisterID} }

// Instance returns the DNS-SD instance name used for the record:
// "<agent id>-<register id>". It is made of ID characters only, so it needs
// no escaping.
func (r Record) Instance() string { return r.AgentID + "-" + r.RegisterID }

// Validate reports whether r can be announced and understood by this build.
// The error wraps ErrInvalidRecord, or ErrUnsupportedVersion.
func (r Record) Validate() error {
	if err := ValidateID(r.AgentID); err != nil {
		return fmt.Errorf("%w: agent id: %w", ErrInvalidRecord, err)
	}
	if err := ValidateID(r.RegisterID); err != nil {
		return fmt.Errorf("%w: register id: %w", ErrInvalidRecord, err)
	}
	if err := validateName(r.Name); err != nil {
		return fmt.Errorf("%w: name: %w", ErrInvalidRecord, err)
	}
	if err := ValidateFingerprint(r.Fingerprint); err != nil {
		return fmt.Errorf("%w: fingerprint: %w", ErrInvalidRecord, err)
	}
	if r.ProtocolVersion != ProtocolVersion {
		if r.ProtocolVersion < 1 || r.ProtocolVersion > maxProtocolVersion {
			return fmt.Errorf("%w: protocol version %d out of range", ErrInvalidRecord, r.ProtocolVersion)
		}
		return &VersionError{Got: r.ProtocolVersion}
	}
	return nil
}

// ValidateID checks an agent or register ID: 1..MaxIDLen characters of
// ASCII letters, digits, '_' and '-'.
func ValidateID(id string) error {
	if id == "" {
		return errors.New("empty")
	}
	if len(id) > MaxIDLen {
		return fmt.Errorf("%d bytes, at most %d allowed", len(id), MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("character %q at %d not allowed (use A-Z a-z 0-9 _ -)", c, i)
		}
	}
	return nil
}

// ValidateFingerprint checks the form of a certificate fingerprint: 64
// lowercase hex digits (SHA-256).
func ValidateFingerprint(fp string) error {
	if len(fp) != fingerprintLen {
		return fmt.Errorf("%d characters, want %d lowercase hex digits", len(fp), fingerprintLen)
	}
	for i := 0; i < len(fp); i++ {
		c := fp[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("character %q at %d is not a lowercase hex digit", c, i)
		}
	}
	return nil
}

func validateName(name string) error {
	if name == "" {
		return errors.New("empty")
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%d bytes, at most %d allowed", len(name), MaxNameLen)
	}
	if !utf8.ValidString(name) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("unprintable character %U", r)
		}
	}
	if strings.TrimSpace(name) != name {
		return errors.New("leading or trailing space")
	}
	return nil
}

// EncodeTXT validates r and returns its TXT strings in a stable order.
func (r Record) EncodeTXT() ([]string, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return []string{
		keyProtocolVersion + "=" + strconv.Itoa(r.ProtocolVersion),
		keyAgentID + "=" + r.AgentID,
		keyRegisterID + "=" + r.RegisterID,
		keyName + "=" + r.Name,
		keyFingerprint + "=" + r.Fingerprint,
	}, nil
}

// DecodeTXT parses and validates the TXT strings of an announcement. It is
// meant for untrusted input: any malformed record yields an error wrapping
// ErrInvalidRecord (or ErrUnsupportedVersion for a well-formed record of
// another protocol version, in which case the decoded record is returned
// too); it never panics.
func DecodeTXT(txt []string) (Record, error) {
	if len(txt) > maxTXTStrings {
		return Record{}, errTooManyStrings(len(txt))
	}
	fields := make(map[string]string, 5)
	for _, s := range txt {
		if len(s) > 255 {
			return Record{}, fmt.Errorf("%w: TXT string of %d bytes", ErrInvalidRecord, len(s))
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			continue // boolean attribute or empty key: not ours (RFC 6763 6.4)
		}
		k = strings.ToLower(k)
		if _, seen := fields[k]; seen {
			continue // RFC 6763 6.4: only the first occurrence counts
		}
		fields[k] = v
	}
	var r Record
	for _, k := range []string{keyProtocolVersion, keyAgentID, keyRegisterID, keyName, keyFingerprint} {
		if _, ok := fields[k]; !ok {
			return Record{}, fmt.Errorf("%w: missing key %q", ErrInvalidRecord, k)
		}
	}
	pv := fields[keyProtocolVersion]
	if len(pv) == 0 || len(pv) > 4 || strings.TrimLeft(pv, "0123456789") != "" {
		return Record{}, fmt.Errorf("%w: protocol version %q is not a number 1..%d", ErrInvalidRecord, pv, maxProtocolVersion)
	}
	r.ProtocolVersion, _ = strconv.Atoi(pv) // at most 4 digits: cannot fail
	r.AgentID = fields[keyAgentID]
	r.RegisterID = fields[keyRegisterID]
	r.Name = fields[keyName]
	r.Fingerprint = fields[keyFingerprint]
	if err := r.Validate(); err != nil {
		if _, ok := errors.AsType[*VersionError](err); ok {
			return r, err // well formed: the caller may show it as "needs update"
		}
		return Record{}, err
	}
	return r, nil
}

func errTooManyStrings(n int) error {
	return fmt.Errorf("%w: %d TXT strings, at most %d allowed", ErrInvalidRecord, n, maxTXTStrings)
}

func wrapInvalid(err error) error { return fmt.Errorf("%w: %w", ErrInvalidRecord, err) }
