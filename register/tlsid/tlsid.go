// Package tlsid owns the agent's TLS identity: an ECDSA P-256 key and a
// long-lived self-signed certificate, created on first start in the agent's
// state directory and loaded on later starts, and the fingerprint that
// displays pin at pairing.
//
// It also builds the client side: a tls.Config that trusts exactly one
// certificate, named by its fingerprint, and fails with ErrUntrusted for any
// other. Trust comes from the pin only; the package must not consult system
// roots, announcement data or host names for trust decisions.
package tlsid

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/posdisplay/posdisplay/register/atomicfile"
)

// File names inside the state directory.
const (
	CertFile = "tls-cert.pem"
	KeyFile  = "tls-key.pem"
)

// Validity is how long a created certificate is valid. Displays pin the
// fingerprint, not a CA, so expiry brings no security here and would only
// force store IT to re-pair every display; 20 years outlives the hardware.
const Validity = 20 * 365 * 24 * time.Hour

// ErrUntrusted is wrapped (inside an *UntrustedError) when a register
// presents a certificate whose fingerprint differs from the pinned one. The
// screen shows "untrusted register" for it.
var ErrUntrusted = errors.New("tlsid: untrusted register certificate")

// ErrCorrupt is wrapped when the identity files exist but cannot be used
// (bad PEM, wrong key type, key and certificate do not match, one file
// missing). The agent must not silently replace them: every paired display
// pins the old certificate. The operator removes both files to start over.
var ErrCorrupt = errors.New("tlsid: TLS identity files are corrupt")

// UntrustedError details a fingerprint mismatch.
type UntrustedError struct {
	Want string // pinned fingerprint
	Got  string // fingerprint of the certificate presented ("" if none)
}

func (e *UntrustedError) Error() string {
	if e.Got == "" {
		return fmt.Sprintf("tlsid: untrusted register: no certificate presented, pinned %s", e.Want)
	}
	return fmt.Sprintf("tlsid: untrusted register: certificate %s, pinned %s", e.Got, e.Want)
}

// Unwrap makes errors.Is(err, ErrUntrusted) true.
func (e *UntrustedError) Unwrap() error { return ErrUntrusted }

// Identity is a loaded or created agent identity.
type Identity struct {
	// Certificate is ready for tls.Config.Certificates (Leaf is set).
	Certificate tls.Certificate
	// Fingerprint is Fingerprint(Certificate.Leaf).
	Fingerprint string
}

// Options tune LoadOrCreate.
type Options struct {
	// Hosts are extra DNS names or IP addresses for the certificate's SANs.
	// The host name, "localhost", 127.0.0.1 and ::1 are always included.
	// SANs are informational only: displays verify the pin, not the name.
	Hosts []string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Fingerprint returns the SHA-256 digest of the certificate's DER encoding
// as 64 lowercase hex digits: the form used in announcements (TXT key "fp")
// and pairing records. It is the output of
// `openssl x509 -noout -fingerprint -sha256` without colons, lowercased.
func Fingerprint(cert *x509.Certificate) string {
	return FingerprintDER(cert.Raw)
}

// FingerprintDER is Fingerprint for a raw DER certificate.
func FingerprintDER(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// LoadOrCreate loads the identity from dir, or creates it there when
// neither file exists. dir is created with mode 0700 if needed; both files
// are written with mode 0600, atomically (temporary file, fsync, rename).
// Existing but unusable files yield an error wrapping ErrCorrupt and are
// left untouched. A loaded key file readable by group or others is set
// back to 0600.
func LoadOrCreate(dir string, opts Options) (*Identity, error) {
	certPath := filepath.Join(dir, CertFile)
	keyPath := filepath.Join(dir, KeyFile)
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		id, err := parse(certPEM, keyPEM, certPath, keyPath)
		if err != nil {
			return nil, err
		}
		// A key copied around (backup restore, manual edit) may have lost
		// its mode: make it private again rather than serve with it.
		if fi, err := os.Stat(keyPath); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(keyPath, 0o600); err != nil {
				return nil, fmt.Errorf("tlsid: %s is readable by others and cannot be made private: %w", keyPath, err)
			}
		}
		return id, nil
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		// first start
	case errors.Is(certErr, fs.ErrNotExist) != errors.Is(keyErr, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: only one of %s and %s exists; remove both to create a new identity (displays must then be re-paired)", ErrCorrupt, certPath, keyPath)
	default:
		return nil, fmt.Errorf("tlsid: reading identity: %w", errors.Join(certErr, keyErr))
	}

	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	certPEM, keyPEM, err := create(now(), opts.Hosts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tlsid: creating state directory: %w", err)
	}
	// Key first: a crash between the two writes leaves "only key exists",
	// which is reported as corrupt rather than silently regenerated.
	if err := atomicfile.Write(keyPath, keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("tlsid: writing %s: %w", keyPath, err)
	}
	if err := atomicfile.Write(certPath, certPEM, 0o600); err != nil {
		return nil, fmt.Errorf("tlsid: writing %s: %w", certPath, err)
	}
	return parse(certPEM, keyPEM, certPath, keyPath)
}

func create(now time.Time, hosts []string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsid: generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tlsid: generating serial: %w", err)
	}
	hostname, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "posdisplay-agent " + hostname, Organization: []string{"posdisplay"}},
		NotBefore:             now.Add(-time.Hour), // tolerate a display clock slightly behind
		NotAfter:              now.Add(Validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	names := append([]string{hostname, "localhost", "127.0.0.1", "::1"}, hosts...)
	for _, h := range names {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(tmpl.IPAddresses, ip.Equal) {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if !slices.Contains(tmpl.DNSNames, h) {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsid: creating certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsid: encoding key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

func parse(certPEM, keyPEM []byte, certPath, keyPath string) (*Identity, error) {
	cb, rest := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: %s: want exactly one PEM CERTIFICATE block", ErrCorrupt, certPath)
	}
	leaf, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, certPath, err)
	}
	kb, rest := pem.Decode(keyPEM)
	if kb == nil || kb.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: %s: want exactly one PEM PRIVATE KEY block", ErrCorrupt, keyPath)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, keyPath, err)
	}
	ek, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s: key is %T, want ECDSA", ErrCorrupt, keyPath, key)
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&ek.PublicKey) {
		return nil, fmt.Errorf("%w: %s does not belong to %s", ErrCorrupt, keyPath, certPath)
	}
	return &Identity{
		Certificate: tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: ek, Leaf: leaf},
		Fingerprint: Fingerprint(leaf),
	}, nil
}

// ServerConfig returns a tls.Config for the agent's display listener.
func (id *Identity) ServerConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{id.Certificate},
		MinVersion:   tls.VersionTLS13,
	}
}

// PinnedClientConfig returns a client tls.Config that accepts exactly the
// certificate whose Fingerprint is fingerprint (64 hex digits, any case) and
// nothing else. Chain and host-name verification are replaced by the pin
// check (the certificate is self-signed and reached by IP address); the
// handshake fails with an error wrapping ErrUntrusted (an *UntrustedError)
// when the register presents another certificate.
func PinnedClientConfig(fingerprint string) (*tls.Config, error) {
	want := strings.ToLower(fingerprint)
	if b, err := hex.DecodeString(want); err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("tlsid: pinned fingerprint %q is not 64 hex digits", fingerprint)
	}
	return &tls.Config{
		// InsecureSkipVerify disables only the CA chain and host name checks,
		// which cannot work for a self-signed certificate reached by IP;
		// VerifyConnection below runs on every handshake (including
		// resumed ones) and is the real check.
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS13,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyPin(cs.PeerCertificates, want)
		},
	}, nil
}

func verifyPin(certs []*x509.Certificate, want string) error {
	if len(certs) == 0 {
		return &UntrustedError{Want: want}
	}
	got := Fingerprint(certs[0])
	if got != want {
		return &UntrustedError{Want: want, Got: got}
	}
	return nil
}
