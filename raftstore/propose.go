package raftstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/chronik-stream/chronik/raftstore/raftpb"
)

// Propose makes a meta command durable through the metadata group and returns once this
// node's store has applied it (meta.Proposer). On a follower the command is forwarded to the
// leader; either way the caller then reads its own write.
func (n *Node) Propose(ctx context.Context, cmd []byte) error {
	index, err := n.proposeMeta(ctx, entryMeta, cmd)
	if err != nil {
		return err
	}
	return n.fsm.waitApplied(ctx, index)
}

// proposeCluster applies a cluster command through the metadata group; a refusal by the FSM
// (e.g. *ErrNodeConflict) is returned as is.
func (n *Node) proposeCluster(ctx context.Context, c clusterCmd) (uint64, error) {
	b, err := encodeClusterCmd(c)
	if err != nil {
		return 0, err
	}
	index, err := n.proposeMeta(ctx, entryCluster, b)
	if err != nil {
		return 0, err
	}
	return index, n.fsm.waitApplied(ctx, index)
}

// errRefused wraps an FSM refusal forwarded from the leader.
var errRefused = errors.New("refused by the metadata leader")

// proposeMeta applies an entry on the metadata leader — locally or forwarded — retrying while
// no leader is known or leadership moves, until ctx ends. It returns the entry's index.
func (n *Node) proposeMeta(ctx context.Context, kind byte, payload []byte) (uint64, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	delay := 10 * time.Millisecond
	for {
		g := n.metaGroup()
		if g == nil {
			return 0, errors.New("cluster node not started")
		}
		var index uint64
		var err error
		if g.isLeader() {
			index, err = n.applyLocal(ctx, g, kind, payload)
		} else if _, addr := g.leader(); addr != "" {
			index, err = n.forward(ctx, addr, kind, payload)
		} else {
			err = errNoLeader
		}
		if err == nil || !retryable(err) {
			return index, err
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("proposing to the metadata group: %w (last error: %v)", context.Cause(ctx), err)
		case <-n.ctx.Done():
			return 0, fmt.Errorf("proposing to the metadata group: node shutting down (last error: %v)", err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// retryable errors leave the entry unapplied: no leader, not the leader, a leader unreachable.
func retryable(err error) bool {
	if errors.Is(err, errNoLeader) || errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrEnqueueTimeout) || errors.Is(err, ErrInjectedFault) {
		return true
	}
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.FailedPrecondition, codes.Unavailable, codes.NotFound:
			return true
		}
	}
	return false
}

// applyLocal applies an entry on this node, which leads the group. The entry carries this
// node's id as the leader that proposed it.
func (n *Node) applyLocal(ctx context.Context, g *raftGroup, kind byte, payload []byte) (uint64, error) {
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	f := g.r.Apply(encodeEntry(kind, n.id, payload), timeout)
	if err := f.Error(); err != nil {
		return 0, err
	}
	if resp, ok := f.Response().(error); ok && resp != nil {
		return f.Index(), resp
	}
	return f.Index(), nil
}

// forward sends an entry to the leader at addr.
func (n *Node) forward(ctx context.Context, addr raft.ServerAddress, kind byte, payload []byte) (uint64, error) {
	client, err := n.netw.clusterClient(addr)
	if err != nil {
		return 0, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	data := make([]byte, 1+len(payload))
	data[0] = kind
	copy(data[1:], payload)
	resp, err := client.Propose(cctx, &pb.ProposeRequest{Group: MetaGroup, Data: data})
	if err != nil {
		return 0, fromStatus(err)
	}
	return resp.GetIndex(), nil
}

// fromStatus turns the leader's refusal of a cluster command back into an error.
func fromStatus(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.AlreadyExists:
		var id uint64
		if _, serr := fmt.Sscanf(st.Message(), "node %d is already", &id); serr == nil {
			return &ErrNodeConflict{ID: id}
		}
		return fmt.Errorf("%w: %s", errRefused, st.Message())
	case codes.Aborted:
		return fmt.Errorf("%w: %s", errRefused, st.Message())
	}
	return err
}
