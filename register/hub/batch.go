package hub

import (
	"io"
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

// batchRun is the batch a display's writer is taking from its queue. The
// first delta waits (alone, it goes out as itself); from the second on,
// the batch message is written as the deltas come, through gorilla's
// pooled write buffer into the cork (cork.go): a display holds no list of
// its deltas, and no copy of the batch is assembled. Deltas are counted in
// the fan-out latency as they are handed over, as lone ones are.
type batchRun struct {
	first *stream.Frame  // a delta taken and not written yet
	w     io.WriteCloser // the batch message, once a second delta came
	n     int            // deltas written into w
	bytes int            // bytes of the deltas in the batch
}

// full reports whether the batch holds as many deltas or bytes as one
// batch may: protocol.MaxBatchDeltas, or about maxCorked bytes.
func (r *batchRun) full() bool {
	return r.n >= protocol.MaxBatchDeltas || r.bytes >= maxCorked
}

// waiting is the bytes of the delta taken but not written yet.
func (r *batchRun) waiting(c *conn) int {
	if r.first == nil {
		return 0
	}
	return len(r.first.For(c.returns))
}

// add puts delta f, the next in sequence, into the batch.
func (r *batchRun) add(c *conn, f *stream.Frame) error {
	data := f.For(c.returns)
	if r.first == nil && r.w == nil {
		r.first, r.bytes = f, len(data)
		return nil
	}
	if r.w == nil {
		now := time.Now()
		c.lastWrite = now
		_ = c.ws.SetWriteDeadline(now.Add(c.h.opts.WriteWait))
		w, err := c.ws.NextWriter(websocket.TextMessage)
		if err != nil {
			return err
		}
		r.w = w
		if err := r.write(c, batchOpen, r.first.For(c.returns)); err != nil {
			return err
		}
		c.observe(r.first)
		r.first, r.n = nil, 1
	}
	if err := r.write(c, batchComma, data); err != nil {
		return err
	}
	c.observe(f)
	r.n++
	r.bytes += len(data)
	return nil
}

func (r *batchRun) write(c *conn, sep, data []byte) error {
	if _, err := r.w.Write(sep); err != nil {
		return err
	}
	_, err := r.w.Write(data)
	return err
}

// flush ends the batch: a lone delta goes out as itself, a batch message
// is closed.
func (r *batchRun) flush(c *conn) error {
	var err error
	switch {
	case r.first != nil:
		if err = c.write(r.first.For(c.returns)); err == nil {
			c.observe(r.first)
		}
	case r.w != nil:
		if _, err = r.w.Write(batchClose); err == nil {
			err = r.w.Close()
		}
	}
	*r = batchRun{}
	return err
}
