package raftstore

import (
	"context"
	"fmt"
	"time"
)

// A node joins by itself: started with seed nodes, it asks a member to add it (as a non-voter,
// promoted once caught up). AwaitMember is what a console's "add node" step does on an existing
// member: it waits for that join to finish.

// awaitPoll is how often AwaitMember re-reads the membership.
const awaitPoll = 100 * time.Millisecond

// AwaitMember waits until node id is a voting member of the metadata group at addr ("" = any
// address), or ctx ends. A member with another address is an error at once (a node id is
// forever bound to one node). The error on timeout says how to start the node so that it joins.
func (n *Node) AwaitMember(ctx context.Context, id uint64, addr string) error {
	if id == 0 {
		return fmt.Errorf("node id must be at least 1")
	}
	t := time.NewTicker(awaitPoll)
	defer t.Stop()
	last := "not a member"
	for {
		for _, m := range n.Status().Members() {
			if m.NodeID != id {
				continue
			}
			if addr != "" && m.Addr != addr {
				return fmt.Errorf("node %d is a member at %s, not at %s: remove it first or use another node id", id, m.Addr, addr)
			}
			switch m.State {
			case "leader", "follower", "candidate":
				return nil
			}
			last = "member in state " + m.State + " (catching up before promotion)"
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %d has not joined (%s): start it with `chronik-server cluster --node-id %d --seed-nodes %d@%s`: %w",
				id, last, id, n.ID(), n.RaftAddr(), ctx.Err())
		case <-t.C:
		}
	}
}
