package redisfeed

// The key layout (docs/redis.md). Every key of a store carries the store
// as a Redis Cluster hash tag, {store}, so that all of them hash to one slot.

// PosKey is the stream the backend XADDs a register's cart messages to.
func PosKey(prefix, store, register string) string {
	return prefix + ":{" + store + "}:" + register + ":pos"
}

// ResultsKey is the stream the agent answers a register's entries on.
func ResultsKey(prefix, store, register string) string {
	return prefix + ":{" + store + "}:" + register + ":results"
}

// ScansKey is the stream of a register's scans for a backend-driven POS.
func ScansKey(prefix, store, register string) string {
	return prefix + ":{" + store + "}:" + register + ":scans"
}

// PubChannel is the channel of the opt-in PUBLISH compatibility. Channels
// are not keys: it has the stream's name, so a backend publishes to the
// name it would XADD to.
func PubChannel(prefix, store, register string) string {
	return PosKey(prefix, store, register)
}

// PresenceKey is the agent's presence key.
func PresenceKey(prefix, store, agent string) string {
	return prefix + ":{" + store + "}:agent:" + agent
}
