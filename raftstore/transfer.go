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

// TransferLeadership hands the metadata leadership to node target (0: any up-to-date voter)
// and returns the new leader. Any node may be asked; the request goes to the leader.
func (n *Node) TransferLeadership(ctx context.Context, target uint64) (uint64, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
	}
	for {
		g := n.metaGroup()
		if g == nil {
			return 0, errors.New("cluster node not started")
		}
		var leader uint64
		var err error
		if g.isLeader() {
			leader, err = n.transferLocal(ctx, g, target)
		} else if _, addr := g.leader(); addr != "" {
			var c pb.ClusterServiceClient
			if c, err = n.netw.clusterClient(addr); err == nil {
				var resp *pb.TransferLeadershipResponse
				if resp, err = c.TransferLeadership(ctx, &pb.TransferLeadershipRequest{TargetNodeId: target}); err == nil {
					leader = resp.GetLeaderId()
				}
			}
		} else {
			err = errNoLeader
		}
		if err == nil || !retryable(err) {
			return leader, err
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("transferring the metadata leadership: %w (last error: %v)", context.Cause(ctx), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// transferLocal runs the transfer on the leader and waits until another node leads.
func (n *Node) transferLocal(ctx context.Context, g *raftGroup, target uint64) (uint64, error) {
	if target == n.id {
		return n.id, nil
	}
	var f raft.Future
	if target != 0 {
		conf, err := g.configuration()
		if err != nil {
			return 0, err
		}
		var srv *raft.Server
		for i, s := range conf.Servers {
			if s.ID == serverID(target) {
				srv = &conf.Servers[i]
			}
		}
		if srv == nil || srv.Suffrage != raft.Voter {
			return 0, fmt.Errorf("node %d is not a voter of the metadata group", target)
		}
		f = g.r.LeadershipTransferToServer(srv.ID, srv.Address)
	} else {
		f = g.r.LeadershipTransfer()
	}
	if err := f.Error(); err != nil {
		return 0, fmt.Errorf("transferring the metadata leadership: %w", err)
	}
	for {
		if id, _ := g.leader(); id != 0 && id != n.id {
			return id, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("waiting for the new metadata leader: %w", context.Cause(ctx))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (s *clusterService) TransferLeadership(ctx context.Context, req *pb.TransferLeadershipRequest) (*pb.TransferLeadershipResponse, error) {
	g, err := s.leaderOnly()
	if err != nil {
		return nil, err
	}
	leader, err := s.n.transferLocal(ctx, g, req.GetTargetNodeId())
	if err != nil {
		return nil, status.Error(codes.Aborted, err.Error())
	}
	return &pb.TransferLeadershipResponse{LeaderId: leader}, nil
}
