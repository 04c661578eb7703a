package chaos

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/display/client"
)

// envChildURL tells a re-executed test binary that it is the display
// inside the network namespace, and where the agent is.
const envChildURL = "POSDISPLAY_CHAOS_DISPLAY_URL"

// TestLinkDownChild is the display of TestLinkDown, run in its network
// namespace: it prints every status change as "V <unix ns> <status>".
func TestLinkDownChild(t *testing.T) {
	url := os.Getenv(envChildURL)
	if url == "" {
		t.Skip("runs only as TestLinkDown's display")
	}
	c, err := client.New(client.Options{
		Register: register, Token: displayToken, Source: client.Static{URL: url},
		Logger: slog.New(slog.DiscardHandler),
		OnView: func(v client.View) { fmt.Printf("V %d %s\n", time.Now().UnixNano(), v.Status) },
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Run(context.Background()) // until the parent kills this process
}

// TestLinkDown puts a display in its own network namespace behind a veth
// pair, sets the agent's end of the link down for a while, and measures:
// the display marks its cart stale (≤ 2 s), its screen hides the amounts
// (stale + timing.stale_hide, ≤ 5 s), the agent drops the silent display
// (≤ 10 s), and the display is live again after the link returns (≤ 3 s); at
// 0, 5 and 50 changes/s.
func TestLinkDown(t *testing.T) {
	needRoot(t, "network namespaces")
	rates, hold := []int{0, 50}, 9*time.Second
	if *long {
		rates, hold = []int{0, 5, 50}, 30*time.Second
	}
	id := os.Getpid() % 10000
	ns, host, peer := fmt.Sprintf("pdchaos%d", id), fmt.Sprintf("pdh%d", id), fmt.Sprintf("pdd%d", id)
	hostIP, peerIP := fmt.Sprintf("10.%d.%d.1", 200+id/250%50, id%250), fmt.Sprintf("10.%d.%d.2", 200+id/250%50, id%250)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("ip %s: %v %s", strings.Join(args, " "), err, out)
			}
			t.Skipf("ip %s: %v %s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	ip("link", "add", host, "type", "veth", "peer", "name", peer, "netns", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", host).Run() })
	ip("addr", "add", hostIP+"/24", "dev", host)
	ip("link", "set", host, "up")
	ip("-n", ns, "addr", "add", peerIP+"/24", "dev", peer)
	ip("-n", ns, "link", "set", peer, "up")
	ip("-n", ns, "link", "set", "lo", "up")

	cfg := newAgentConfig(t)
	cfg.displayAddr = freePort(t, hostIP)
	a := startAgent(t, cfg)

	child := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestLinkDownChild$", "-test.count=1")
	child.Env = append(os.Environ(), envChildURL+"=ws://"+cfg.displayAddr+"/v1/display")
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	type event struct {
		at     time.Time
		status client.Status
	}
	events := make(chan event, 256)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 3 || f[0] != "V" {
				continue
			}
			ns, _ := strconv.ParseInt(f[1], 10, 64)
			events <- event{time.Unix(0, ns), client.Status(f[2])}
		}
		close(events)
	}()
	waitStatus := func(limit time.Duration, ok func(client.Status) bool) (time.Time, bool) {
		end := time.After(limit)
		for {
			select {
			case e, open := <-events:
				if !open {
					return time.Time{}, false
				}
				if ok(e.status) {
					return e.at, true
				}
			case <-end:
				return time.Time{}, false
			}
		}
	}
	isLive := func(s client.Status) bool { return s == client.StatusLive }
	if _, ok := waitStatus(20*time.Second, isLive); !ok {
		t.Fatal("display in the namespace never went live")
	}

	// The screen hides a stale cart's amounts timing.stale_hide (3 s by
	// default, display.DefaultConfig; TestStaleTiming pins it) after the
	// client reports it stale; the suite does not link Fyne to ask.
	const staleHide = 3 * time.Second
	n := 0
	for _, rate := range rates {
		ctx, stop := context.WithCancel(context.Background())
		pos, err := dialPOS(a)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { // the POS keeps changing the cart during the outage
			defer close(done)
			if rate == 0 {
				return
			}
			tick := time.NewTicker(time.Second / time.Duration(rate))
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					n++
					_ = pos.send(cartN("n", n), n)
				}
			}
		}()
		silentBefore, _ := a.metric(`posdisplay_displays_cut_total{reason="silent"}`)
		ip("link", "set", host, "down")
		down := time.Now() // the link is down once the command returns
		staleAt, ok := waitStatus(10*time.Second, func(s client.Status) bool { return !isLive(s) })
		if !ok {
			t.Fatalf("%d changes/s: display not stale within 10 s of the link going down", rate)
		}
		dropped, ok := poll(ctx, 20*time.Second, func() bool {
			v, _ := a.metric(`posdisplay_displays_cut_total{reason="silent"}`)
			return v > silentBefore
		})
		if !ok {
			t.Errorf("%d changes/s: agent did not drop the silent display within 20 s", rate)
		}
		if rest := hold - time.Since(down); rest > 0 {
			time.Sleep(rest) // the outage itself: nothing to synchronise with
		}
		up := time.Now()
		ip("link", "set", host, "up")
		liveAt, ok := waitStatus(15*time.Second, isLive)
		if !ok {
			t.Fatalf("%d changes/s: display not live within 15 s of the link returning", rate)
		}
		stop()
		<-done
		pos.close()

		stale, hidden, live := staleAt.Sub(down), staleAt.Sub(down)+staleHide, liveAt.Sub(up)
		t.Logf("%2d changes/s, link down %v: stale after %v, amounts hidden after %v, agent dropped the display after %v, live %v after the link returned",
			rate, hold, stale.Round(time.Millisecond), hidden.Round(time.Millisecond), dropped.Round(time.Millisecond), live.Round(time.Millisecond))
		if stale > 2*time.Second || hidden > 5*time.Second {
			t.Errorf("%d changes/s: stale %v / hidden %v, want <= 2 s / 5 s", rate, stale, hidden)
		}
		if dropped > 10*time.Second {
			t.Errorf("%d changes/s: silent display dropped after %v, want <= 10 s", rate, dropped)
		}
		if live > 3*time.Second {
			t.Errorf("%d changes/s: live again %v after the link returned, want <= 3 s", rate, live)
		}
	}
}
