package raftstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/chronik-stream/chronik/raftstore/raftpb"
)

// joinLoop joins the cluster through the seeds (a node without Raft state): it asks each seed
// in turn, retrying with backoff until one answers (a non-leader seed points to the leader),
// then waits until the metadata group has replicated the membership to this node.
func (n *Node) joinLoop(ctx context.Context) {
	seeds := n.seeds()
	delay := n.cfg.JoinRetry
	for attempt := 0; ; attempt++ {
		for _, s := range seeds {
			if attempt == 0 {
				n.logger.Info(fmt.Sprintf("Joining cluster via seed node %s", s))
			}
			resp, err := n.joinVia(ctx, raft.ServerAddress(s.Addr), 0)
			if err == nil {
				n.joinedVia(ctx, resp)
				return
			}
			var conflict *ErrNodeConflict
			if errors.As(err, &conflict) {
				n.fail(fmt.Errorf("Node %d failed to join cluster: %w", n.id, err))
				return
			}
			if ctx.Err() != nil {
				return
			}
			level := n.logger.Debug
			if attempt%10 == 9 {
				level = n.logger.Warn
			}
			level("join attempt failed; retrying", "seed", s.String(), "attempt", attempt+1, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// joinVia asks the node at addr to admit this node, following one leader hint.
func (n *Node) joinVia(ctx context.Context, addr raft.ServerAddress, hops int) (*pb.JoinResponse, error) {
	client, err := n.netw.clusterClient(addr)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	resp, err := client.Join(cctx, &pb.JoinRequest{Node: nodeInfoToPB(n.self())})
	if err == nil {
		return resp, nil
	}
	st, _ := status.FromError(err)
	if st.Code() == codes.FailedPrecondition && hops == 0 {
		if _, hint, ok := strings.Cut(st.Message(), "LeaderHint: "); ok {
			if _, leaderAddr, ok := strings.Cut(hint, "@"); ok {
				return n.joinVia(ctx, raft.ServerAddress(strings.TrimSpace(leaderAddr)), 1)
			}
		}
	}
	return nil, fromStatus(err)
}

// joinedVia finishes a join: the leader recorded this node at resp.Index; once the metadata
// group has brought this node that far, it is a member.
func (n *Node) joinedVia(ctx context.Context, resp *pb.JoinResponse) {
	n.logger.Info(fmt.Sprintf("Received cluster membership from node %d", resp.GetLeaderId()), "members", len(resp.GetMembers()))
	n.logger.Info("Starting Raft log replication")
	if err := n.fsm.waitApplied(ctx, resp.GetIndex()); err != nil {
		return
	}
	n.logger.Info(fmt.Sprintf("Node %d joined cluster", n.id))
	close(n.joined)
}

// refreshSelf runs on a node that restarted with Raft state: it checks that the seeds belong to
// the same cluster (a node that bootstrapped a cluster of its own by mistake would otherwise
// lead it next to the real one: ConflictingLeader) and updates this node's membership record
// when its addresses changed.
func (n *Node) refreshSelf(ctx context.Context) {
	for _, s := range n.seeds() {
		if err := n.checkSeedCluster(ctx, s); err != nil {
			n.fail(err)
			return
		}
	}
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		st := n.State()
		if n.Leader() != 0 && st.UUID != "" {
			cur, ok := st.Nodes[n.id]
			switch {
			case !ok:
				n.logger.Warn(fmt.Sprintf("node %d is not a member of the cluster (removed?): it takes no part until it joins again", n.id))
				return
			case cur != n.self():
				self := n.self()
				if _, err := n.proposeCluster(ctx, clusterCmd{Op: opUpdateNode, Node: &self}); err != nil {
					n.logger.Warn("updating this node's membership record failed; retrying", "err", err)
					break
				}
				n.logger.Info("membership record updated", "node_addr", self.RaftAddr, "kafka", fmt.Sprintf("%s:%d", self.KafkaHost, self.KafkaPort))
				return
			default:
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkSeedCluster compares this node's cluster with the one a seed belongs to. Unreachable
// seeds are not an error (they may be down).
func (n *Node) checkSeedCluster(ctx context.Context, s Seed) error {
	mine := n.State().UUID
	if mine == "" {
		return nil
	}
	client, err := n.netw.clusterClient(raft.ServerAddress(s.Addr))
	if err != nil {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := client.GroupStatus(cctx, &pb.GroupStatusRequest{Group: MetaGroup})
	if err != nil || resp.GetClusterUuid() == "" || resp.GetClusterUuid() == mine {
		return nil
	}
	return fmt.Errorf("Node %d failed to join cluster: ConflictingLeader: this node's Raft state belongs to cluster %s (leader: node %d) but seed %s is in cluster %s: stop the node, clear its Raft state (rm -rf %s/raft_*) and restart it to re-join",
		n.id, mine, n.Leader(), s, resp.GetClusterUuid(), n.metaDir())
}

// fail records a fatal error: the node cannot take part in the cluster.
func (n *Node) fail(err error) {
	n.logger.Error(err.Error())
	select {
	case n.fatal <- err:
	default:
	}
}

// Fatal delivers an error after which this node cannot take part in the cluster (a refused
// join, a split brain): the broker should stop.
func (n *Node) Fatal() <-chan error { return n.fatal }
