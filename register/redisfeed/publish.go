package redisfeed

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// publishLoop applies messages PUBLISHed on the registers' channels: the
// opt-in compatibility with backends that publish instead of XADD. Best
// effort by nature: a message published while the link is down is lost
// (the next one repairs the cart, as every message is a whole cart), and
// nothing is answered on the results stream.
func (f *Feed) publishLoop(ctx context.Context) {
	byChannel := map[string]*following{}
	var channels []string
	for _, r := range f.order {
		byChannel[r.channel] = r
		channels = append(channels, r.channel)
	}
	ps := f.client.Subscribe(ctx, channels...)
	defer ps.Close()
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() }) // unblocks ReceiveMessage
	defer stop()
	b := backoff{min: 100 * time.Millisecond, max: 10 * time.Second}
	for {
		v, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			f.update(func(s *Status) { s.Subscribed = false })
			if !sleep(ctx, b.next()) {
				return
			}
			continue
		}
		b.reset()
		switch m := v.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Count == len(channels) {
				f.update(func(s *Status) { s.Subscribed = true })
			}
		case *redis.Message:
			f.published(byChannel[m.Channel], m.Payload)
		}
	}
}

// published applies one PUBLISHed message.
func (f *Feed) published(r *following, payload string) {
	if r == nil {
		return
	}
	msg, perr := decodeEntry(map[string]any{FieldMsg: payload}, f.opts.Limit, nil)
	if perr == nil {
		// Nothing is answered, so nothing waits for the write.
		_, _, perr = f.opts.Apply.ApplyQueued(r.name, msg)
	}
	if perr != nil {
		f.m.entries.WithLabelValues("error", perr.Code).Inc()
		f.log.Info("published message refused", "register", r.name, "code", perr.Code, "field", perr.Field)
		return
	}
	f.m.entries.WithLabelValues("ack", "published_"+msg.Type).Inc()
}
