package scannertest

import (
	"sync"
	"time"
)

// Port is a fake serial port: the test writes with Feed, the code under
// test reads. Read returns (0, nil) after the read timeout like
// go.bug.st/serial, and ErrUnplugged after Unplug once the data is drained.
type Port struct {
	mu      sync.Mutex
	data    []byte
	unplug  bool
	closed  bool
	timeout time.Duration // <0: none
	wake    chan struct{} // closed and replaced on every change
}

// NewPort returns an empty fake port with no read timeout.
func NewPort() *Port {
	return &Port{timeout: -1, wake: make(chan struct{})}
}

func (p *Port) signal() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// Feed makes b readable.
func (p *Port) Feed(b []byte) {
	p.mu.Lock()
	p.data = append(p.data, b...)
	p.signal()
	p.mu.Unlock()
}

// Unplug makes Read fail once pending data is read.
func (p *Port) Unplug() {
	p.mu.Lock()
	p.unplug = true
	p.signal()
	p.mu.Unlock()
}

// SetReadTimeout sets how long Read waits for data; negative waits forever.
func (p *Port) SetReadTimeout(d time.Duration) error {
	p.mu.Lock()
	p.timeout = d
	p.mu.Unlock()
	return nil
}

// Read reads pending data, blocking as a serial port does.
func (p *Port) Read(b []byte) (int, error) {
	var deadline <-chan time.Time
	p.mu.Lock()
	if p.timeout >= 0 {
		t := time.NewTimer(p.timeout)
		defer t.Stop()
		deadline = t.C
	}
	for {
		if p.closed {
			p.mu.Unlock()
			return 0, ErrClosed
		}
		if len(p.data) > 0 {
			n := copy(b, p.data)
			p.data = p.data[n:]
			p.mu.Unlock()
			return n, nil
		}
		if p.unplug {
			p.mu.Unlock()
			return 0, ErrUnplugged
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-wake:
		case <-deadline:
			return 0, nil
		}
		p.mu.Lock()
	}
}

// Write discards b (scanners are not written to) and reports success.
func (p *Port) Write(b []byte) (int, error) { return len(b), nil }

// Close unblocks Read; it is safe to call more than once.
func (p *Port) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		p.signal()
	}
	return nil
}

// Closed reports whether Close was called.
func (p *Port) Closed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}
