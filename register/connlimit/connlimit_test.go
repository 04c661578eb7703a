package connlimit_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/connlimit"
)

// server serves ln with a handler that answers "ok", or hijacks the
// connection and holds it when the path is /hold. states receives every
// connection state change after the listener has seen it.
func server(t *testing.T, max int) (*connlimit.Listener, chan http.ConnState) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := connlimit.New(inner, max)
	states := make(chan http.ConnState, 100)
	var (
		mu   sync.Mutex
		held []net.Conn
	)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/hold" {
				c, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					mu.Lock()
					held = append(held, c)
					mu.Unlock()
					_, _ = c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\n\r\n"))
				}
				return
			}
			_, _ = io.WriteString(w, "ok")
		}),
		ConnState: func(c net.Conn, s http.ConnState) {
			ln.ConnState(c, s)
			states <- s
		},
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	})
	return ln, states
}

// waitState waits for state s (the server has recorded it).
func waitState(t *testing.T, states chan http.ConnState, s http.ConnState) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case got := <-states:
			if got == s {
				return
			}
		case <-timeout:
			t.Fatalf("no connection reached state %v", s)
		}
	}
}

// get sends one request on c and reads the answer.
func get(t *testing.T, c net.Conn, path string) error {
	t.Helper()
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	if path != "/hold" {
		_, _ = io.ReadAll(resp.Body)
	}
	return resp.Body.Close()
}

func dial(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer reports whether the server closed c.
func closedByServer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Read(make([]byte, 1))
	return err == io.EOF
}

func TestShedsOldestIdleConnection(t *testing.T) {
	ln, states := server(t, 3)
	var idle []net.Conn
	for range 3 {
		c := dial(t, ln)
		if err := get(t, c, "/"); err != nil {
			t.Fatal(err)
		}
		waitState(t, states, http.StateIdle)
		idle = append(idle, c)
	}
	if got := ln.Open(); got != 3 {
		t.Fatalf("Open() = %d, want 3", got)
	}
	fresh := dial(t, ln)
	if err := get(t, fresh, "/"); err != nil {
		t.Fatalf("request over the limit: %v, want it served after shedding an idle connection", err)
	}
	if !closedByServer(idle[0]) {
		t.Error("the oldest idle connection is still open, want it shed")
	}
	if got := ln.Shed.Load(); got != 1 {
		t.Errorf("Shed = %d, want 1", got)
	}
	if err := get(t, idle[2], "/"); err != nil {
		t.Errorf("newest idle connection: %v, want it kept", err)
	}
}

func TestRefusesWhenNothingCanBeShed(t *testing.T) {
	ln, states := server(t, 2)
	for range 2 {
		c := dial(t, ln)
		if err := get(t, c, "/hold"); err != nil {
			t.Fatal(err)
		}
		waitState(t, states, http.StateHijacked)
	}
	c := dial(t, ln)
	if !closedByServer(c) {
		t.Fatal("connection over the limit with nothing sheddable was not closed")
	}
	if got, want := ln.Refused.Load(), int64(1); got != want {
		t.Errorf("Refused = %d, want %d", got, want)
	}
	if got := ln.Open(); got != 2 {
		t.Errorf("Open() = %d, want 2", got)
	}
}

func TestIdlePerHost(t *testing.T) {
	ln, states := server(t, 100)
	ln.MaxIdlePerHost = 2
	var idle []net.Conn
	for range 3 {
		c := dial(t, ln)
		if err := get(t, c, "/"); err != nil {
			t.Fatal(err)
		}
		waitState(t, states, http.StateIdle)
		idle = append(idle, c)
	}
	if !closedByServer(idle[0]) {
		t.Error("the host's oldest idle connection is open, want it closed over MaxIdlePerHost")
	}
	if got := ln.IdleClosed.Load(); got != 1 {
		t.Errorf("IdleClosed = %d, want 1", got)
	}
	for _, c := range idle[1:] {
		if err := get(t, c, "/"); err != nil {
			t.Errorf("newer idle connection: %v, want it kept", err)
		}
	}
}
