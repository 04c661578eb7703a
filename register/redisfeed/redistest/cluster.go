package redistest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of real redis-server masters on loopback
// (no replicas): the slots split evenly between them.
type Cluster struct {
	Nodes []*Server
	IDs   []string // node ids, as Nodes
}

// slots is Redis Cluster's number of hash slots.
const slots = 16384

// StartCluster runs n masters with cluster-enabled yes, assigns each an
// even share of the slots (CLUSTER ADDSLOTSRANGE), joins them (CLUSTER
// MEET) and waits until every node reports the cluster ok.
func StartCluster(tb testing.TB, n int) *Cluster {
	tb.Helper()
	c := &Cluster{}
	var bus []int
	for range n {
		// The cluster bus gets a free port of its own (cluster-port,
		// Redis 7.0): the default, port+10000, may be taken or beyond 65535.
		bus = append(bus, FreePort(tb))
		s := Start(tb, Options{Args: []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000", "--cluster-port", strconv.Itoa(bus[len(bus)-1])}})
		c.Nodes = append(c.Nodes, s)
		c.IDs = append(c.IDs, s.Do(tb, "CLUSTER", "MYID").(string))
	}
	for i, s := range c.Nodes {
		lo, hi := i*slots/n, (i+1)*slots/n-1
		s.Do(tb, "CLUSTER", "ADDSLOTSRANGE", lo, hi)
		// Distinct config epochs before the nodes meet, as redis-cli
		// --cluster create sets them. Otherwise the nodes resolve their
		// epoch collision by bumping epochs while they run, and a bump
		// racing MoveSlot gave the moved slot back to its old node on
		// one side only: no node served it (seen once in 10 runs).
		s.Do(tb, "CLUSTER", "SET-CONFIG-EPOCH", i+1)
	}
	for i, s := range c.Nodes[1:] {
		host, port := s.hostPort()
		c.Nodes[0].Do(tb, "CLUSTER", "MEET", host, port, bus[i+1])
	}
	for _, s := range c.Nodes {
		s.awaitInfo(tb, func(info string) bool {
			return strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, "cluster_current_epoch:"+strconv.Itoa(n)) &&
				strings.Contains(info, "cluster_slots_ok:"+strconv.Itoa(slots)) &&
				strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(n))
		})
	}
	// Every node also has to see every other's slots.
	for _, s := range c.Nodes {
		s.awaitSlots(tb, n)
	}
	return c
}

// Addrs are the nodes' addresses.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, s := range c.Nodes {
		out = append(out, s.Addr)
	}
	return out
}

// Client returns an administrator's cluster client, closed when the test
// ends.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), DisableIdentity: true})
	tb.Cleanup(func() { _ = cc.Close() })
	return cc
}

// Owner returns the index of the node that serves key's slot, in that
// node's own view.
func (c *Cluster) Owner(tb testing.TB, key string) int {
	tb.Helper()
	slot := c.Nodes[0].Do(tb, "CLUSTER", "KEYSLOT", key).(int64)
	for i := range c.Nodes {
		if c.serves(tb, i, slot) {
			return i
		}
	}
	var views []string
	for _, s := range c.Nodes {
		views = append(views, s.Do(tb, "CLUSTER", "NODES").(string))
	}
	tb.Fatalf("no node serves slot %d:\n%s", slot, strings.Join(views, "\n"))
	return -1
}

// serves reports whether node i's own view gives it slot.
func (c *Cluster) serves(tb testing.TB, i int, slot int64) bool {
	tb.Helper()
	for _, line := range strings.Split(c.Nodes[i].Do(tb, "CLUSTER", "NODES").(string), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.Contains(f[2], "myself") {
			continue
		}
		for _, r := range f[8:] {
			lo, hi, ok := strings.Cut(r, "-")
			if !ok {
				hi = lo
			}
			a, err1 := strconv.ParseInt(lo, 10, 64)
			b, err2 := strconv.ParseInt(hi, 10, 64)
			if err1 == nil && err2 == nil && a <= slot && slot <= b {
				return true
			}
		}
	}
	return false
}

// MoveSlot reshards key's slot from node src to node dst, as
// `redis-cli --cluster reshard` does: dst IMPORTING, src MIGRATING, every
// key MIGRATEd, then the slot given to dst on every node. Clients of src
// get MOVED from then on.
func (c *Cluster) MoveSlot(tb testing.TB, key string, src, dst int) {
	tb.Helper()
	slot := c.Nodes[src].Do(tb, "CLUSTER", "KEYSLOT", key).(int64)
	c.Nodes[dst].Do(tb, "CLUSTER", "SETSLOT", slot, "IMPORTING", c.IDs[src])
	c.Nodes[src].Do(tb, "CLUSTER", "SETSLOT", slot, "MIGRATING", c.IDs[dst])
	host, port := c.Nodes[dst].hostPort()
	for {
		keys := c.Nodes[src].Do(tb, "CLUSTER", "GETKEYSINSLOT", slot, 100).([]any)
		if len(keys) == 0 {
			break
		}
		args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
		args = append(args, keys...)
		c.Nodes[src].Do(tb, args...)
	}
	for _, i := range []int{dst, src} {
		c.Nodes[i].Do(tb, "CLUSTER", "SETSLOT", slot, "NODE", c.IDs[dst])
	}
	for i := range c.Nodes {
		if i != dst && i != src {
			c.Nodes[i].Do(tb, "CLUSTER", "SETSLOT", slot, "NODE", c.IDs[dst])
		}
	}
	for _, s := range c.Nodes {
		s.awaitSlotOwner(tb, slot, c.IDs[dst])
	}
}

// awaitSlotOwner waits until s's slot map gives slot to the node id.
func (s *Server) awaitSlotOwner(tb testing.TB, slot int64, id string) {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DisableIdentity: true})
	defer c.Close()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	end := time.After(clusterWait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err := c.ClusterSlots(ctx).Result()
		cancel()
		for _, r := range got {
			if int64(r.Start) <= slot && slot <= int64(r.End) && len(r.Nodes) > 0 && r.Nodes[0].ID == id {
				return
			}
		}
		select {
		case <-tick.C:
		case <-end:
			tb.Fatalf("redis cluster node %s: slot %d not on node %s within %v (%v)", s.Addr, slot, id, clusterWait, err)
		}
	}
}

func (s *Server) hostPort() (string, int) {
	i := strings.LastIndex(s.Addr, ":")
	port, _ := strconv.Atoi(s.Addr[i+1:])
	return s.Addr[:i], port
}

// clusterWait bounds the wait for the nodes to agree (gossip every 100 ms).
const clusterWait = 20 * time.Second

// awaitInfo polls CLUSTER INFO until ok: cluster gossip runs inside the
// servers and tells no one when it is done, so this is observed from
// outside, as redis-cli --cluster create does.
func (s *Server) awaitInfo(tb testing.TB, ok func(string) bool) {
	tb.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	end := time.After(clusterWait)
	info := ""
	for {
		info = s.Do(tb, "CLUSTER", "INFO").(string)
		if ok(info) {
			return
		}
		select {
		case <-tick.C:
		case <-end:
			tb.Fatalf("redis cluster node %s not ready within %v:\n%s", s.Addr, clusterWait, info)
		}
	}
}

// awaitSlots waits until s knows n masters that each serve slots.
func (s *Server) awaitSlots(tb testing.TB, n int) {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DisableIdentity: true})
	defer c.Close()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	end := time.After(clusterWait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err := c.ClusterSlots(ctx).Result()
		cancel()
		owners := map[string]bool{}
		for _, r := range got {
			if len(r.Nodes) > 0 {
				owners[r.Nodes[0].ID] = true
			}
		}
		if err == nil && len(owners) == n {
			return
		}
		select {
		case <-tick.C:
		case <-end:
			tb.Fatalf("redis cluster node %s: slots of %d masters within %v, want %d (%v)", s.Addr, len(owners), clusterWait, n, fmt.Sprint(err))
		}
	}
}
