package redistest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/posdisplay/posdisplay/register/storecert/storecerttest"
)

// CA is a certificate authority made for one test (the store CA of
// storecerttest), with the files redis-server and the agent read.
type CA struct{ *storecerttest.CA }

// NewCA makes a CA named name.
func NewCA(tb testing.TB, name string) *CA { return &CA{storecerttest.NewCA(tb, name)} }

// WriteCert writes the CA's certificate as PEM into dir and returns its path.
func (ca *CA) WriteCert(tb testing.TB, dir, name string) string {
	return writeFile(tb, filepath.Join(dir, name), ca.PEM)
}

// ServerCert writes a server certificate for 127.0.0.1 signed by ca and
// its key into dir and returns their paths.
func (ca *CA) ServerCert(tb testing.TB, dir string) (certFile, keyFile string) {
	tb.Helper()
	cert, key := ca.Issue(tb, "redis", "127.0.0.1")
	return writeFile(tb, filepath.Join(dir, "server.pem"), cert), writeFile(tb, filepath.Join(dir, "server.key"), key)
}

func writeFile(tb testing.TB, path string, data []byte) string {
	tb.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
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
