package web_test

import (
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// freezer is a TCP proxy whose existing connections can be frozen: bytes
// stop flowing both ways and nothing is closed, like a dead Wi-Fi link.
// Connections made after the freeze flow normally (the link came back).
type freezer struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	frozen chan struct{} // closed by freeze; connections accepted before it stop
	conns  []net.Conn
}

func newFreezer(t *testing.T, target string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target, frozen: make(chan struct{})}
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
	})
	go f.serve()
	return f
}

func (f *freezer) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", f.target)
		if err != nil {
			c.Close()
			continue
		}
		f.mu.Lock()
		f.conns = append(f.conns, c, up)
		frozen := f.frozen
		f.mu.Unlock()
		go pipe(c, up, frozen)
		go pipe(up, c, frozen)
	}
}

// pipe copies src to dst until src ends or frozen is closed; then it
// holds the connection open and silent.
func pipe(dst, src net.Conn, frozen chan struct{}) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-frozen:
			return // drop what was read: the link is dead
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// freeze stops every connection open now; later ones flow.
func (f *freezer) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.frozen)
	f.frozen = make(chan struct{})
}

// TestWebDisplaySilentLink: the web display stays live on heartbeats while
// the cart does not change, marks the cart stale when its link goes silent
// without a close, and is live again on a new connection.
func TestWebDisplaySilentLink(t *testing.T) {
	a := startAgent(t, agentConfig(t, freeAddr(t), freeAddr(t)))
	proxy := newFreezer(t, a.dispAddr)
	tab := newBrowser(t)
	run(t, tab, chromedp.Navigate(fmt.Sprintf("http://%s/display#register=%s&token=%s", proxy.ln.Addr(), register, displayToken)))
	waitJS(t, tab, `document.body.dataset.status === "live"`)
	// Idle for 3 s: heartbeats keep the 1.8 s watchdog quiet.
	run(t, tab, chromedp.Evaluate(`window.flaps = 0; new MutationObserver(() => { if (document.body.dataset.status !== "live") window.flaps++; }).observe(document.body, {attributes: true}); true`, nil))
	run(t, tab, chromedp.Evaluate(`new Promise(r => setTimeout(r, 3000))`, nil, awaitPromise))
	if flaps := evalJS[int](t, tab, `window.flaps`); flaps != 0 {
		t.Fatalf("idle live display went stale %d times in 3 s", flaps)
	}
	proxy.freeze()
	waitJS(t, tab, `document.body.dataset.status === "reconnecting"`)
	waitJS(t, tab, `document.body.dataset.status === "live"`)
}
