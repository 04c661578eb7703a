package agent

import (
	"errors"
	"fmt"
	"net/http"
	"syscall"
	"time"
)

// Connection budgets. The display listener faces the store network; the
// POS listener (with the admin endpoint and /healthz) is on loopback. Each
// listener holds at most its own number of connections, and the display
// listener's share is what the file-descriptor limit leaves after the POS
// budget and fdReserve, so that no flood on the display port can stop the
// POS side from accepting (seen: with a 1200-fd limit, 2000 idle
// keep-alive connections to :7422 made REST and /healthz time out).
const (
	// defaultPOSConnections: a POS page or two per register, a backend's
	// keep-alive pool, the admin CLI and a metrics scraper.
	defaultPOSConnections = 256
	// maxDisplayConnections caps the automatic display budget: a store
	// has tens of displays, and each held connection costs memory as well
	// as a descriptor (an idle TLS keep-alive connection about 40 KB, a
	// silent WebSocket about 20 KB), so the budget also bounds what a
	// flood from many addresses can make the agent hold: about 80 MB.
	maxDisplayConnections = 2048
	// minDisplayConnections: below this the agent cannot serve a store.
	minDisplayConnections = 32
	// fdReserve is for everything else the agent opens: the state
	// directory's files, the log, mDNS sockets, scanner devices, the
	// listeners themselves.
	fdReserve = 64
)

// Timeouts of both HTTP servers. WebSockets set their own deadlines after
// the upgrade (gorilla/websocket clears the server's), so these bound plain
// requests and idle keep-alive connections only.
const (
	readHeaderTimeout = 10 * time.Second
	// A POS backend's 2 MiB cart over loopback takes milliseconds; a
	// pairing request on the store network is a few hundred bytes.
	posReadTimeout     = 60 * time.Second
	displayReadTimeout = 20 * time.Second
	writeTimeout       = 60 * time.Second
	// Idle keep-alive connections: a POS backend reuses its pool within
	// seconds; nothing on the display port needs keep-alive at all (it
	// serves WebSockets, one pairing exchange and static files), and
	// without an idle timeout an idle connection was held forever.
	posIdleTimeout     = 120 * time.Second
	displayIdleTimeout = 15 * time.Second
)

// displayIdlePerHost bounds the idle keep-alive connections one address
// holds on the display listener: a browser display opens a few in
// parallel, and nothing else there needs keep-alive. Without it, 2000 idle
// TLS connections from one host held 80 MB of the agent's memory.
const displayIdlePerHost = 8

// budget is how many connections each listener may hold.
type budget struct {
	POS, Display int
	NoFile       uint64 // the process's descriptor limit they were derived from
}

// connectionBudget derives both listeners' budgets from the configuration
// and the process's descriptor limit (which the Go runtime has already
// raised to the hard limit at start).
func connectionBudget(cfg Config) (budget, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return budget{}, fmt.Errorf("reading the file descriptor limit: %w", err)
	}
	return splitBudget(rl.Cur, cfg.POS.MaxConnections, cfg.Display.MaxConnections)
}

var errTooFewFDs = errors.New("file descriptor limit too low")

// splitBudget divides nofile descriptors: pos connections (0: the default)
// first, fdReserve for the agent itself, and display connections (0: the
// rest, at most maxDisplayConnections).
func splitBudget(nofile uint64, pos, display int) (budget, error) {
	if pos <= 0 {
		pos = defaultPOSConnections
	}
	left := int64(nofile) - int64(pos) - fdReserve
	if nofile > 1<<30 {
		left = 1 << 30
	}
	b := budget{POS: pos, Display: display, NoFile: nofile}
	if display <= 0 {
		b.Display = int(min(left, maxDisplayConnections))
	}
	if b.Display < minDisplayConnections || int64(b.Display) > left {
		return b, fmt.Errorf("%d descriptors cannot hold %d POS and %d display connections plus %d for the agent (raise LimitNOFILE or lower pos.max_connections, display.max_connections): %w",
			nofile, pos, max(b.Display, minDisplayConnections), fdReserve, errTooFewFDs)
	}
	return b, nil
}

// displayHealth is /healthz on the display listener: it says the agent is
// up and nothing else. Register ids, sale state and whether a POS page is
// connected are for the loopback listener only; on the store network
// they would tell anyone when a till is busy.
func displayHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}
