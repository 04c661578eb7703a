package hub

import (
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
// The deltas inside are the stream's prepared frames, copied as they are
// into the message (no encoding per display). Any other display gets them
// one message each, as before; a lone delta is never wrapped.

// batchOpen and batchClose frame the deltas of a batch message.
var (
	batchOpen  = []byte(`{"type":"` + protocol.TypeBatch + `","deltas":[`)
	batchClose = []byte(`]}`)
	batchComma = []byte(`,`)
)

// batchRun is the deltas a display's writer took from its queue for its
// next batch, with the bytes each one is for this display (Frame.For).
type batchRun struct {
	held  *batchSlices // from batchPool while holding deltas
	bytes int
}

type batchSlices struct {
	frames []*stream.Frame
	data   [][]byte
}

// batchPool recycles the slices of runs: a display holds one only while
// its writer empties its queue, so 1000 displays share a few instead of
// keeping 128 pointers each.
var batchPool = sync.Pool{New: func() any {
	return &batchSlices{frames: make([]*stream.Frame, 0, 16), data: make([][]byte, 0, 16)}
}}

// full reports whether next would not fit in the run: a batch holds at
// most protocol.MaxBatchDeltas deltas and about maxCorked bytes.
func (r *batchRun) full(next []byte) bool {
	if r.held == nil {
		return false
	}
	n := len(r.held.frames)
	return n == protocol.MaxBatchDeltas || n > 0 && r.bytes+len(next) > maxCorked
}

func (r *batchRun) add(f *stream.Frame, data []byte) {
	if r.held == nil {
		r.held = batchPool.Get().(*batchSlices)
	}
	r.held.frames = append(r.held.frames, f)
	r.held.data = append(r.held.data, data)
	r.bytes += len(data)
}

// reset forgets the run's deltas and gives its slices back.
func (r *batchRun) reset() {
	if r.held != nil {
		clear(r.held.frames)
		clear(r.held.data)
		r.held.frames, r.held.data = r.held.frames[:0], r.held.data[:0]
		batchPool.Put(r.held)
		r.held = nil
	}
	r.bytes = 0
}

// flush writes the run to c, a lone delta as itself, and resets it.
func (r *batchRun) flush(c *conn) error {
	if r.held == nil || len(r.held.frames) == 0 {
		r.reset()
		return nil
	}
	var err error
	if len(r.held.data) == 1 {
		err = c.write(r.held.data[0])
	} else {
		err = c.writeBatch(r.held.data)
	}
	if err == nil {
		now := time.Now()
		for _, f := range r.held.frames {
			c.h.metrics.FanoutLatency.Observe(now.Sub(f.At).Seconds())
		}
	}
	r.reset()
	return err
}

// writeBatch writes one batch message of the given encoded deltas,
// streamed through gorilla's pooled write buffer: no copy of the batch is
// assembled first.
func (c *conn) writeBatch(deltas [][]byte) error {
	now := time.Now()
	c.lastWrite = now
	_ = c.ws.SetWriteDeadline(now.Add(c.h.opts.WriteWait))
	w, err := c.ws.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	if _, err := w.Write(batchOpen); err != nil {
		return err
	}
	for i, d := range deltas {
		if i > 0 {
			if _, err := w.Write(batchComma); err != nil {
				return err
			}
		}
		if _, err := w.Write(d); err != nil {
			return err
		}
	}
	if _, err := w.Write(batchClose); err != nil {
		return err
	}
	return w.Close()
}
