package raftstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/raft"
)

// A node joins by itself: started with seed nodes, it asks a member to add it (as a non-voter,
// promoted once caught up). AwaitMember is what a console's "add node" step does on an existing
// member: it waits for that join to finish.

// awaitPoll is how often AwaitMember re-reads the membership.
const awaitPoll = 100 * time.Millisecond

// AwaitMember waits until node id is a voting member of the metadata group at addr ("" = any
// address) and of every data group that should hold a replica on it (as far as this node runs
// those groups: their data has reached the node), or ctx ends. A member with another address is an error at once (a node id is
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
				if pending := n.dataGroupsPending(id); pending == "" {
					return nil
				} else {
					last = "a voter of the metadata group; " + pending
				}
			default:
				last = "member in state " + m.State + " (catching up before promotion)"
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %d has not joined (%s): start it with `chronik-server cluster --node-id %d --seed-nodes %d@%s`: %w",
				id, last, id, n.ID(), n.RaftAddr(), ctx.Err())
		case <-t.C:
		}
	}
}

// dataGroupsPending names the first data group that should have node id as a voter but does
// not yet, in this node's view ("" when none: every such group this node runs has it, and a
// leader).
func (n *Node) dataGroupsPending(id uint64) string {
	for _, gi := range n.State().Groups {
		if !slices.Contains(gi.Replicas, id) {
			continue
		}
		name := DataGroupName(gi.ID)
		g := n.data.raftGroup(name)
		if g == nil {
			continue // not run here: nothing this node can tell
		}
		conf, err := g.configuration()
		if err != nil {
			return fmt.Sprintf("data group %s: %v", name, err)
		}
		voter := false
		for _, s := range conf.Servers {
			if s.ID == serverID(id) && s.Suffrage == raft.Voter {
				voter = true
			}
		}
		if !voter {
			return fmt.Sprintf("data group %s is copying its data to it", name)
		}
		if leader, _ := g.leader(); leader == 0 {
			return fmt.Sprintf("data group %s has no leader yet", name)
		}
	}
	return ""
}
