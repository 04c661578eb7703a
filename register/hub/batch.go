package hub

import (
	"encoding/binary"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/stream"
)

// Batches (protocol revision 1.2). A display that fell behind by several
// deltas used to get them as that many messages, each decoded, applied and
// drawn on its own: a screen that was slow to draw stayed behind. A display
// that announced the "batch" feature gets the deltas that are ready
// together as one protocol.Batch, which it applies in order and draws once.
// The deltas inside are the stream's prepared frames, written as they are
// (no encoding per display). Any other display gets them one message each,
// as before; a lone delta is never wrapped.
//
// A batch is one WebSocket frame whose payload is written in pieces: the
// frame header, batchOpen, the deltas with commas, batchClose. On a bare
// TCP socket they go out in one writev with whatever the cork held before
// (cork.go), copying nothing; otherwise (TLS) they are copied into the
// cork. Written through gorilla's message writer instead, a batch of 60
// deltas was cut into 1 KiB frames (its write buffer), copied twice and
// sent in 4 KiB writes: write(2) and that copying were 70% of the display
// writers' CPU in a burst of 500 to 100 displays.

// batchOpen and batchClose frame the deltas of a batch message.
var (
	batchOpen  = []byte(`{"type":"` + protocol.TypeBatch + `","deltas":[`)
	batchClose = []byte(`]}`)
	batchComma = []byte(`,`)
)

// batchRun is the batch a display's writer is taking from its queue: the
// deltas taken and not written yet, in order. Its lists come from a pool
// and go back at flush, so a display holds none between batches. Deltas
// are counted in the fan-out latency as they are handed to the socket, as
// lone ones are.
type batchRun struct {
	parts *batchParts // nil until a delta is taken
	bytes int         // bytes of the deltas taken
}

// batchParts are the lists a batch is written from.
type batchParts struct {
	frames []*stream.Frame
	// bufs: nil (the cork's held bytes go there), header, batchOpen,
	// delta, comma, ..., batchClose.
	bufs   net.Buffers
	header [10]byte
}

var batchPool = sync.Pool{New: func() any {
	return &batchParts{
		frames: make([]*stream.Frame, 0, protocol.MaxBatchDeltas),
		bufs:   make(net.Buffers, 0, 2*protocol.MaxBatchDeltas+3),
	}
}}

// full reports whether the batch holds as many deltas or bytes as one
// batch may: protocol.MaxBatchDeltas, or about maxCorked bytes.
func (r *batchRun) full() bool {
	return r.parts != nil && (len(r.parts.frames) >= protocol.MaxBatchDeltas || r.bytes >= maxCorked)
}

// waiting is the bytes of the deltas taken but not written yet.
func (r *batchRun) waiting(*conn) int { return r.bytes }

// add puts delta f, the next in sequence, into the batch.
func (r *batchRun) add(c *conn, f *stream.Frame) error {
	if r.parts == nil {
		r.parts = batchPool.Get().(*batchParts)
	}
	r.parts.frames = append(r.parts.frames, f)
	r.bytes += len(f.For(c.returns))
	return nil
}

// flush writes the batch: a lone delta as itself, several as one batch
// message.
func (r *batchRun) flush(c *conn) error {
	p := r.parts
	if p == nil {
		return nil
	}
	var err error
	if len(p.frames) == 1 {
		err = c.write(p.frames[0].For(c.returns))
	} else {
		err = c.writeBatch(p)
	}
	if err == nil {
		// One clock reading and one addition to the shared histogram
		// for the batch (metrics.Histogram).
		now := time.Now()
		t := c.h.metrics.FanoutLatency.Tally()
		for _, f := range p.frames {
			t.Observe(now.Sub(f.At).Seconds())
		}
		c.h.metrics.FanoutLatency.Add(&t)
	}
	clear(p.frames)
	clear(p.bufs)
	p.frames, p.bufs = p.frames[:0], p.bufs[:0]
	batchPool.Put(p)
	*r = batchRun{}
	return err
}

// writeBatch writes the deltas in p as one batch message.
func (c *conn) writeBatch(p *batchParts) error {
	n := len(batchOpen) + len(p.frames) - 1 + len(batchClose)
	for _, f := range p.frames {
		n += len(f.For(c.returns))
	}
	p.bufs = append(p.bufs, nil, appendTextHeader(p.header[:0], n), batchOpen)
	for i, f := range p.frames {
		if i > 0 {
			p.bufs = append(p.bufs, batchComma)
		}
		p.bufs = append(p.bufs, f.For(c.returns))
	}
	p.bufs = append(p.bufs, batchClose)
	now := time.Now()
	c.lastWrite = now
	deadline := now.Add(c.h.opts.WriteWait)
	if c.cork == nil {
		// Not upgraded through corkWriter: gorilla frames it.
		_ = c.ws.SetWriteDeadline(deadline)
		w, err := c.ws.NextWriter(websocket.TextMessage)
		if err != nil {
			return err
		}
		for _, b := range p.bufs[2:] {
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return w.Close()
	}
	return c.cork.writeBuffers(p.bufs, n+len(p.bufs[1]), deadline)
}

// appendTextHeader appends the header of a final, unmasked text frame of n
// payload bytes (RFC 6455 section 5.2), as a server sends.
func appendTextHeader(b []byte, n int) []byte {
	b = append(b, 0x80|websocket.TextMessage)
	switch {
	case n <= 125:
		return append(b, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}
