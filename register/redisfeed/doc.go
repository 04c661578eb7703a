// Package redisfeed is the agent's outbound link to a chain's Redis: a POS
// backend in a data centre XADDs cart messages to one stream per register,
// and the agent, behind the store's NAT, dials out, reads them with XREAD
// BLOCK and applies each one exactly once, in order, through the same path
// as the POS page and REST (the Applier: validation, persistence, metrics,
// scan binding). It answers every entry on the register's results stream,
// sends scans to a stream that the backend reads with a consumer group, and
// keeps a presence key per agent.
//
// Exactly once: each register's entries are applied in order by one
// worker; the id of the last entry applied is saved after the POS side has
// made its cart durable (position.go), so a restart resumes on the stored
// cart after that id: nothing skipped, and at most the one entry whose id
// the crash interrupted applied again, onto the cart it produced itself.
//
// It owns the Redis connection, the per-register positions and the Redis
// keys of its store; it must not touch carts other than through the
// Applier, nor listen on any socket. Key layout and message shapes are
// specified in docs/redis.md and pinned by testdata/golden.
package redisfeed
