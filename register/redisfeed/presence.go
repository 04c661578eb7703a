package redisfeed

import (
	"context"
	"encoding/json"
	"time"
)

// RegisterPresence is one register in the presence key.
type RegisterPresence struct {
	Register string `json:"register"`
	// Seq is the register's stream position (it restarts at 0 with Epoch).
	Seq      uint64 `json:"seq"`
	Displays int    `json:"displays"`
	// Following says whether the register is fed from Redis; LastEntry is
	// the last entry applied then.
	Following bool   `json:"following"`
	LastEntry string `json:"last_entry,omitempty"`
}

// Presence is the value of an agent's presence key: central IT finds every
// live agent of a store with SCAN MATCH PREFIX:{STORE}:agent:*.
type Presence struct {
	Agent     string             `json:"agent"`
	Version   string             `json:"version"`
	Epoch     string             `json:"epoch"`
	Store     string             `json:"store"`
	At        time.Time          `json:"at"`
	Registers []RegisterPresence `json:"registers"`
}

func (f *Feed) presence() Presence {
	p := Presence{Agent: f.opts.AgentID, Version: f.opts.Version, Epoch: f.opts.Epoch, Store: f.cfg.Store, At: time.Now().UTC()}
	if f.opts.Presence != nil {
		p.Registers = f.opts.Presence()
	}
	for i := range p.Registers {
		if r, ok := f.byName[p.Registers[i].Register]; ok {
			p.Registers[i].Following = true
			r.mu.Lock()
			p.Registers[i].LastEntry = r.lastID
			r.mu.Unlock()
		}
	}
	return p
}

// presenceLoop refreshes the presence key every third of its TTL, so two
// lost refreshes in a row still leave it alive.
func (f *Feed) presenceLoop(ctx context.Context) {
	key := PresenceKey(f.cfg.Prefix, f.cfg.Store, f.opts.AgentID)
	t := time.NewTicker(f.cfg.PresenceTTL / 3)
	defer t.Stop()
	for {
		data, err := json.Marshal(f.presence())
		if err == nil {
			err = f.client.Set(ctx, key, data, f.cfg.PresenceTTL).Err()
		}
		if err != nil && ctx.Err() == nil {
			f.log.Debug("presence not refreshed", "err", err)
		}
		if err == nil {
			now := time.Now()
			f.update(func(s *Status) { s.Presence = now })
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// deletePresence removes the key when the agent stops cleanly, so a
// stopped lane disappears at once rather than after the TTL.
func (f *Feed) deletePresence() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = f.client.Del(ctx, PresenceKey(f.cfg.Prefix, f.cfg.Store, f.opts.AgentID)).Err()
}
