package hub

import (
	"encoding/binary"
	"net"
	"sync"
	"syscall"
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
// A batch message is written by hand as WebSocket frames of up to
// fragmentDeltas deltas each (a fragmented message, RFC 6455 section 5.4:
// every client reassembles it), each frame in pieces: its header,
// batchOpen in the first, the deltas with commas, batchClose in the last.
// On a bare TCP socket a frame goes out with whatever the cork held in one
// writev (cork.go), nothing copied; otherwise (TLS) it is copied into the
// cork. Written through gorilla's message writer instead, a batch was cut
// into 1 KiB frames (its write buffer), copied twice and sent 4 KiB at a
// time: write(2) and the copying were 70% of the display writers' CPU in a
// burst of 500 to 100 displays.

// fragmentDeltas bounds the deltas of one frame of a batch. The writer
// holds the frame's lists (about 6 KiB at 64) while its write blocks (a
// display that reads slowly). One list as long as the batch took the
// agent's heap from 13 to 21 MB in a burst of 500 to 1000 displays; 16
// deltas per frame cost more writes than 64 (burst to 100 displays, p99
// over the relay's 1.35 against 1.21, 12 rounds each), at the same peak
// RSS at 1000 displays (38-40 MB).
const fragmentDeltas = 64

// batchOpen and batchClose frame the deltas of a batch message.
var (
	batchOpen  = []byte(`{"type":"` + protocol.TypeBatch + `","deltas":[`)
	batchClose = []byte(`]}`)
	batchComma = []byte(`,`)
)

// batchRun is the batch a display's writer is taking from its queue.
// Deltas are counted in the fan-out latency as their frame is handed to
// the socket, as lone ones are.
type batchRun struct {
	parts   *batchParts // the deltas not written yet; nil when none
	started bool        // the first frame is out (later ones continue it)
	n       int         // deltas in the batch, written or not
	bytes   int         // bytes of those deltas
	pending int         // bytes of the deltas not written yet
}

// batchParts are the deltas of one frame and the pieces it is written
// from; pooled, so a display holds them only while it writes a batch.
type batchParts struct {
	frames []*stream.Frame
	// bufs: nil (the cork's held bytes go there), header, then the
	// payload's pieces.
	bufs   net.Buffers
	iov    [2*fragmentDeltas + 4]syscall.Iovec // writev's scratch space
	header [10]byte
}

var batchPool = sync.Pool{New: func() any {
	return &batchParts{
		frames: make([]*stream.Frame, 0, fragmentDeltas),
		bufs:   make(net.Buffers, 0, 2*fragmentDeltas+4),
	}
}}

// full reports whether the batch holds as many deltas or bytes as one
// batch may: protocol.MaxBatchDeltas, or about maxCorked bytes.
func (r *batchRun) full() bool {
	return r.n >= protocol.MaxBatchDeltas || r.bytes >= maxCorked
}

// waiting is the bytes of the deltas taken but not written yet.
func (r *batchRun) waiting(*conn) int { return r.pending }

// add puts delta f, the next in sequence, into the batch.
func (r *batchRun) add(c *conn, f *stream.Frame) error {
	if r.parts == nil {
		r.parts = batchPool.Get().(*batchParts)
	} else if len(r.parts.frames) == fragmentDeltas {
		if err := r.writeFrame(c, false); err != nil {
			return err
		}
	}
	size := len(f.For(c.returns))
	r.parts.frames = append(r.parts.frames, f)
	r.n++
	r.bytes += size
	r.pending += size
	return nil
}

// flush ends the batch: a lone delta goes out as itself, a batch's last
// frame closes it.
func (r *batchRun) flush(c *conn) error {
	var err error
	switch {
	case r.parts == nil && !r.started:
	case !r.started && len(r.parts.frames) == 1:
		f := r.parts.frames[0]
		if err = c.write(f.For(c.returns)); err == nil {
			c.observe(f)
		}
	default:
		err = r.writeFrame(c, true)
	}
	if p := r.parts; p != nil {
		clear(p.frames)
		p.frames = p.frames[:0]
		batchPool.Put(p)
	}
	*r = batchRun{}
	return err
}

// writeFrame writes the deltas not written yet as the batch's next frame;
// last closes the batch.
func (r *batchRun) writeFrame(c *conn, last bool) error {
	p := r.parts
	if p == nil {
		p = batchPool.Get().(*batchParts)
		r.parts = p
	}
	p.bufs = append(p.bufs[:0], nil, nil) // held bytes, header
	opcode, n := byte(websocket.TextMessage), 0
	if r.started {
		opcode = 0 // continuation
	} else {
		p.bufs = append(p.bufs, batchOpen)
		n += len(batchOpen)
	}
	written := r.n - len(p.frames)
	for i, f := range p.frames {
		if written+i > 0 {
			p.bufs = append(p.bufs, batchComma)
			n++
		}
		data := f.For(c.returns)
		p.bufs = append(p.bufs, data)
		n += len(data)
	}
	if last {
		p.bufs = append(p.bufs, batchClose)
		n += len(batchClose)
	}
	p.bufs[1] = appendFrameHeader(p.header[:0], last, opcode, n)
	now := time.Now()
	c.lastWrite = now
	err := c.cork.writeBuffers(p.bufs, p.iov[:], n+len(p.bufs[1]), now.Add(c.h.opts.WriteWait))
	clear(p.bufs)
	r.started = true
	if err != nil {
		return err
	}
	// One clock reading and one addition to the shared histogram for the
	// frame's deltas (metrics.Histogram).
	t := c.h.metrics.FanoutLatency.Tally()
	for _, f := range p.frames {
		t.Observe(now.Sub(f.At).Seconds())
	}
	c.h.metrics.FanoutLatency.Add(&t)
	clear(p.frames)
	p.frames = p.frames[:0]
	r.pending = 0
	return nil
}

// appendFrameHeader appends the header of an unmasked frame (as a server
// sends) with n payload bytes (RFC 6455 section 5.2); fin marks the last
// frame of a message.
func appendFrameHeader(b []byte, fin bool, opcode byte, n int) []byte {
	if fin {
		opcode |= 0x80
	}
	b = append(b, opcode)
	switch {
	case n <= 125:
		return append(b, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}
