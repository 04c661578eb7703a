package redistest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority made for one test, valid for an hour.
type CA struct {
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA makes a CA named name.
func NewCA(tb testing.TB, name string) *CA {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return &CA{Cert: c, key: key}
}

// WriteCert writes the CA's certificate as PEM into dir and returns its path.
func (ca *CA) WriteCert(tb testing.TB, dir, name string) string {
	return WritePEM(tb, filepath.Join(dir, name), "CERTIFICATE", ca.Cert.Raw)
}

// ServerCert writes a server certificate for 127.0.0.1 signed by ca and
// its key into dir and returns their paths.
func (ca *CA) ServerCert(tb testing.TB, dir string) (certFile, keyFile string) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "redis"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		tb.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return WritePEM(tb, filepath.Join(dir, "server.pem"), "CERTIFICATE", der), WritePEM(tb, filepath.Join(dir, "server.key"), "EC PRIVATE KEY", kder)
}

// WritePEM writes one PEM block to path and returns path.
func WritePEM(tb testing.TB, path, kind string, der []byte) string {
	tb.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// StartTLS runs a TLS-only redis-server (certificates made here, for
// 127.0.0.1) and returns it with the PEM file of the CA that verifies it.
func StartTLS(tb testing.TB, o Options) (*Server, *CA, string) {
	tb.Helper()
	dir := tb.TempDir()
	ca := NewCA(tb, "posdisplay test CA")
	o.TLSCert, o.TLSKey = ca.ServerCert(tb, dir)
	o.TLSCA = ca.WriteCert(tb, dir, "ca.pem")
	return Start(tb, o), ca, o.TLSCA
}
