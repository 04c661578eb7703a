package web_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/display/enroll"
	"github.com/posdisplay/posdisplay/register/storecert/storecerttest"
	"github.com/posdisplay/posdisplay/register/testenv"
	"github.com/posdisplay/posdisplay/register/tlsid"
)

// registerName is the register's name in the store's DNS, as store IT
// puts it in the certificate (docs/install.md); Chromium maps it to
// loopback.
const registerName = "lane1.store.test"

// trustingBrowser starts Chromium with the store CA installed the way a
// Linux or ChromeOS machine trusts a CA: in the user's NSS database
// ($HOME/.pki/nssdb, made with certutil), and no flag that weakens
// certificate checks.
func trustingBrowser(t *testing.T, ca *storecerttest.CA) context.Context {
	t.Helper()
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		testenv.Missing(t, "certutil", "NSS tools are not installed (apt-get install -y libnss3-tools): %v", err)
	}
	home := t.TempDir()
	db := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(home, "store-ca.crt")
	if err := os.WriteFile(caFile, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-N", "-d", "sql:" + db, "--empty-password"},
		{"-A", "-d", "sql:" + db, "-n", "Test Store CA", "-t", "C,,", "-i", caFile},
	} {
		if out, err := exec.Command(certutil, args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}
	return newBrowser(t, chromedp.Env("HOME="+home),
		chromedp.Flag("host-resolver-rules", "MAP "+registerName+" 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"))
}

// documentCert navigates ctx to url and returns the subject and issuer of
// the certificate the page was served with.
func documentCert(t *testing.T, ctx context.Context, url string) (subject, issuer string) {
	t.Helper()
	got := make(chan *network.SecurityDetails, 1)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chromedp.ListenTarget(lctx, func(ev any) {
		if r, ok := ev.(*network.EventResponseReceived); ok && r.Type == network.ResourceTypeDocument {
			select {
			case got <- r.Response.SecurityDetails:
			default:
			}
		}
	})
	run(t, ctx, chromedp.Navigate(url))
	select {
	case sd := <-got:
		if sd == nil {
			t.Fatalf("%s: no TLS details", url)
		}
		return sd.SubjectName, sd.Issuer
	case <-time.After(waitLong):
		t.Fatalf("%s: no document response", url)
	}
	return "", ""
}

// TestWebDisplayStoreCA: with display.cert_file from the store's CA, a
// browser that trusts that CA opens the display by the register's name,
// with no warning to click through, and streams over wss://; a renewed
// certificate is served to new connections without a restart; a screen's
// pinned client still gets the agent's own certificate.
func TestWebDisplayStoreCA(t *testing.T) {
	ca := storecerttest.NewCA(t, "Test Store CA")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "display.crt"), filepath.Join(dir, "display.key")
	c1, k1 := ca.Issue(t, "lane1 first", registerName, "127.0.0.1")
	storecerttest.Replace(t, certFile, c1)
	storecerttest.Replace(t, keyFile, k1)

	cfg := agentConfig(t, freeAddr(t), freeAddr(t))
	cfg.Display.TLS = true
	cfg.Display.CertFile, cfg.Display.KeyFile = certFile, keyFile
	cfg.POS.BackendToken = backendToken
	a := startAgent(t, cfg)
	_, port, _ := net.SplitHostPort(a.dispAddr)
	pageURL := fmt.Sprintf("https://%s:%s/display#register=%s&token=%s", registerName, port, register, displayToken)

	b := trustingBrowser(t, ca)
	subject, issuer := documentCert(t, b, pageURL)
	if subject != "lane1 first" || issuer != "Test Store CA" {
		t.Errorf("page served with %q from %q, want lane1 first from Test Store CA", subject, issuer)
	}
	waitJS(t, b, `document.body.dataset.status === "live" && window.isSecureContext && location.protocol === "https:"`)
	pushCart(t, a, `{"register":"1","currency":"USD","state":"open","lines":[{"id":"a","title":"Trusted tea","quantity":1,"unit_price":250,"discount":0,"total":250}],"subtotal":250,"discount":0,"taxes":[],"total":250}`)
	waitJS(t, b, `document.querySelector('#lines .line[data-id="a"] .title')?.textContent === "Trusted tea"`)

	// A screen's client (display/client, pinned to the agent's own
	// certificate as after pairing) still connects and follows the cart:
	// it offers no ALPN, so it is not handed the store's certificate.
	pinned, err := tlsid.PinnedClientConfig(a.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Options{
		Register: register,
		Token:    displayToken,
		Source:   client.Static{URL: "wss://" + a.dispAddr + "/v1/display", TLS: pinned},
		Logger:   testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitView(t, c.View, "the cart over the pinned certificate", func(v client.View) bool {
		return len(v.Cart.Lines) == 1 && v.Cart.Lines[0].Title == "Trusted tea"
	})

	// And a new screen pairing with this agent (display/enroll) is shown
	// the certificate whose fingerprint the agent announces.
	pend, err := enroll.Request(ctx, a.dispAddr, enroll.Screen{Name: "Lane 1 screen"}, a.Fingerprint())
	if err != nil {
		t.Fatalf("a screen's pairing request: %v", err)
	}
	if pend.Fingerprint != a.Fingerprint() {
		t.Errorf("the screen saw certificate %s, want the agent's own %s", pend.Fingerprint, a.Fingerprint())
	}

	// Renewed in place: the next connection (another browser, so no pooled
	// connection or TLS session is reused) gets the new one, and the open
	// page stays live.
	c2, k2 := ca.Issue(t, "lane1 renewed", registerName, "127.0.0.1")
	storecerttest.Replace(t, certFile, c2)
	storecerttest.Replace(t, keyFile, k2)
	fresh := trustingBrowser(t, ca)
	subject, _ = documentCert(t, fresh, pageURL)
	if subject != "lane1 renewed" {
		t.Errorf("after renewal a new connection got %q, want lane1 renewed", subject)
	}
	waitJS(t, fresh, `document.body.dataset.status === "live"`)
	waitJS(t, b, `document.body.dataset.status === "live"`)
}
