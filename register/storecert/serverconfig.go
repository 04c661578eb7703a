package storecert

import "crypto/tls"

// ServerConfig returns the display listener's tls.Config when a store
// certificate is configured: clients that offer ALPN get the store's
// certificate, clients that offer none get pinned, the agent's own
// self-signed certificate.
//
// Why ALPN: every browser offers it on every TLS connection (h2 and
// http/1.1 for pages, http/1.1 for WebSockets), while the screens
// (display/enroll, display/client: Go clients with a pinned tls.Config)
// never have, in any released version. The screens pin the agent's own
// certificate by fingerprint, at pairing and in mDNS announcements; were
// they handed the store's, every paired screen would refuse the register,
// and again at each renewal. The server selects no protocol (NextProtos
// stays empty), so the offer changes nothing else in the handshake.
func (f *Files) ServerConfig(pinned tls.Certificate) *tls.Config {
	return &tls.Config{
		// TLS 1.2 still: tablets a few years old (iOS before 12.2) speak
		// nothing newer, and Go offers only ECDHE AEAD suites in it. Screens
		// ask for 1.3 themselves (tlsid.PinnedClientConfig).
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if len(hello.SupportedProtos) == 0 {
				return &pinned, nil
			}
			return f.Certificate(), nil
		},
	}
}
