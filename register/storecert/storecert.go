// Package storecert serves the display listener's certificate issued by the
// store's own CA (display.cert_file and display.key_file), so that tablets
// which trust that CA open the web display without a warning.
//
// It owns reading the pair, re-reading it when either file changes (checked
// on each handshake by size, modification time and identity of the files,
// so a renewal needs no restart), keeping the last good pair when a new one
// is unusable (half-written, key and certificate not matching), and the
// rule that picks, per handshake, between that certificate and the agent's
// own self-signed one that screens pin (ServerConfig). It must not decide
// trust for clients: screens keep pinning the agent's own certificate
// (register/tlsid), browsers verify the store's chain themselves.
package storecert

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// ErrUnusable is wrapped by Load when the files cannot serve TLS.
var ErrUnusable = errors.New("storecert: certificate and key files are unusable")

// Files is a certificate and key pair read from two PEM files, re-read when
// they change. Safe for concurrent use.
type Files struct {
	certPath, keyPath string
	log               *slog.Logger

	mu    sync.Mutex
	cur   *tls.Certificate
	stamp stamp // of the files cur was read from
	bad   stamp // of the last pair that failed to load (logged once)
	// missing: a file could not be stat'ed at the last handshake (logged once).
	missing bool
}

// stamp identifies a version of both files without reading them.
type stamp struct{ cert, key os.FileInfo }

func (s stamp) same(o stamp) bool { return sameFile(s.cert, o.cert) && sameFile(s.key, o.key) }

// sameFile: the same file (an atomic rename gives a new one), unchanged in
// size and modification time (an in-place rewrite changes them).
func sameFile(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == b
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// Load reads the pair; a pair that cannot serve (missing file, bad PEM, key
// not matching the certificate, expired) is an error wrapping ErrUnusable,
// so that the agent does not start with a listener no tablet can use.
func Load(certPath, keyPath string, log *slog.Logger) (*Files, error) {
	f := &Files{certPath: certPath, keyPath: keyPath, log: log}
	st, err := f.statFiles()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnusable, err)
	}
	c, err := f.read(time.Now())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnusable, err)
	}
	f.cur, f.stamp = c, st
	return f, nil
}

func (f *Files) statFiles() (stamp, error) {
	c, err := os.Stat(f.certPath)
	if err != nil {
		return stamp{}, err
	}
	k, err := os.Stat(f.keyPath)
	if err != nil {
		return stamp{}, err
	}
	return stamp{cert: c, key: k}, nil
}

func (f *Files) read(now time.Time) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(f.certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(f.keyPath)
	if err != nil {
		return nil, err
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s and %s: %w", f.certPath, f.keyPath, err)
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%s: %w", f.certPath, err)
		}
	}
	if now.After(c.Leaf.NotAfter) {
		return nil, fmt.Errorf("%s expired on %s", f.certPath, c.Leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	return &c, nil
}

// Certificate returns the current pair, first re-reading the files if
// either changed since the pair was read. A changed pair that does not
// load is logged once and the last good pair stays in service: a renewal
// caught half-written must not take the tablets down.
func (f *Files) Certificate() *tls.Certificate {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := f.statFiles()
	if err != nil {
		if !f.missing { // a file moved away mid-renewal: say so once
			f.missing = true
			f.log.Warn("store certificate files unreadable; serving the last good one", "err", err)
		}
		return f.cur
	}
	f.missing = false
	if st.same(f.stamp) || st.same(f.bad) {
		return f.cur
	}
	c, err := f.read(time.Now())
	if err != nil {
		f.bad = st
		f.log.Warn("store certificate not reloaded; serving the last good one", "err", err,
			"serving", f.cur.Leaf.Subject.String(), "expires", f.cur.Leaf.NotAfter.UTC().Format(time.DateOnly))
		return f.cur
	}
	f.cur, f.stamp, f.bad = c, st, stamp{}
	f.log.Info("store certificate reloaded", "subject", c.Leaf.Subject.String(), "issuer", c.Leaf.Issuer.String(),
		"expires", c.Leaf.NotAfter.UTC().Format(time.DateOnly))
	return c
}
