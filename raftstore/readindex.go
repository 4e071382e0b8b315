package raftstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	pb "github.com/chronik-stream/chronik/raftstore/raftpb"
)

// SyncMetadata waits until this node's metadata includes every change committed before the
// call, so that a client that saw a change acknowledged (by any node) reads it here too. The
// metadata leader confirms its state with a Raft barrier (concurrent callers share one) and
// answers the index its state machine has reached; a follower asks the leader for that index
// (ReadIndex) and waits until it has applied it. Bounded by ctx and 2 seconds.
func (n *Node) SyncMetadata(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	g := n.metaGroup()
	if g == nil {
		return errors.New("cluster node not started")
	}
	var index uint64
	var err error
	if g.isLeader() {
		index, err = n.leaderReadIndex(ctx, g)
	} else if _, addr := g.leader(); addr != "" {
		var c pb.ClusterServiceClient
		if c, err = n.netw.clusterClient(addr); err == nil {
			var resp *pb.ReadIndexResponse
			if resp, err = c.ReadIndex(ctx, &pb.ReadIndexRequest{Group: MetaGroup}); err == nil {
				index = resp.GetIndex()
			}
		}
	} else {
		err = errNoLeader
	}
	if err != nil {
		return fmt.Errorf("metadata read index: %w", err)
	}
	return n.fsm.waitApplied(ctx, index)
}

// leaderReadIndex confirms the leadership and returns the index every change committed before
// the call has been applied at on the leader.
func (n *Node) leaderReadIndex(ctx context.Context, g *raftGroup) (uint64, error) {
	if err := n.barriers.do(ctx, func() error { return g.r.Barrier(5 * time.Second).Error() }); err != nil {
		return 0, err
	}
	return n.fsm.applied.Load(), nil
}

func (s *clusterService) ReadIndex(ctx context.Context, req *pb.ReadIndexRequest) (*pb.ReadIndexResponse, error) {
	if req.GetGroup() != MetaGroup {
		return nil, toStatus(fmt.Errorf("read index: unsupported group %q", req.GetGroup()))
	}
	g, err := s.leaderOnly()
	if err != nil {
		return nil, err
	}
	index, err := s.n.leaderReadIndex(ctx, g)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ReadIndexResponse{Index: index}, nil
}

// coalescer runs an operation for many callers at once: a caller joins the next run that starts
// after it arrived (never one already in flight), so one barrier serves a burst of reads.
type coalescer struct {
	mu   sync.Mutex
	cur  *coalescedCall
	next *coalescedCall
}

type coalescedCall struct {
	done chan struct{}
	err  error
}

func (c *coalescer) do(ctx context.Context, op func() error) error {
	c.mu.Lock()
	var call *coalescedCall
	switch {
	case c.cur == nil:
		call = &coalescedCall{done: make(chan struct{})}
		c.cur = call
		go c.run(call, op)
	case c.next == nil:
		c.next = &coalescedCall{done: make(chan struct{})}
		call = c.next
	default:
		call = c.next
	}
	c.mu.Unlock()
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// run executes call, then the call queued meanwhile (if any). op is bounded by its own timeout.
func (c *coalescer) run(call *coalescedCall, op func() error) {
	for call != nil {
		call.err = op()
		close(call.done)
		c.mu.Lock()
		call, c.cur, c.next = c.next, c.next, nil
		c.mu.Unlock()
	}
}
