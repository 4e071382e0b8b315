package console

import (
	"context"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// What each RPC this build cannot perform is missing. The messages reach the operator verbatim.
const (
	missingWalMigration = "StartWalMigration: this node cannot convert its WAL while running: a node converts " +
		"its V2 segments when it starts (`chronik-server start` with wal_format = 3, or `chronik-server cluster --migrate-wal`), " +
		"or offline with `chronik-server migrate-wal --input DIR --output DIR`"
	missingBackup = "Backup: this node has no online backup: " +
		"run `chronik-server backup --output FILE.tar.gz` on the node"
	missingStandalone = "%s needs cluster mode (Raft membership); this node runs standalone (`chronik-server start`): " +
		"start it with `chronik-server cluster`"
	missingMembership = "%s: this cluster node does not offer membership changes through the console yet: " +
		"nodes join by starting with seed_nodes (guide, Phase 2)"
)

// TransferLeadership (mutating) needs Membership (cluster mode).
func (s *Server) TransferLeadership(ctx context.Context, req *consolepb.TransferLeadershipRequest) (*consolepb.TransferLeadershipResponse, error) {
	if err := s.requireAdmin(ctx, "TransferLeadership"); err != nil {
		return nil, err
	}
	if s.cfg.Membership == nil {
		return nil, s.noMembership("TransferLeadership")
	}
	id, err := s.cfg.Membership.TransferLeadership(ctx, req.GetTargetNodeId())
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "TransferLeadership: %v", err)
	}
	s.events.Appendf(slog.LevelInfo, "console: leadership transferred to node %d", id)
	return &consolepb.TransferLeadershipResponse{NewLeaderId: id}, nil
}

// AddNode (mutating) needs Membership (cluster mode).
func (s *Server) AddNode(ctx context.Context, req *consolepb.AddNodeRequest) (*consolepb.AddNodeResponse, error) {
	if err := s.requireAdmin(ctx, "AddNode"); err != nil {
		return nil, err
	}
	if s.cfg.Membership == nil {
		return nil, s.noMembership("AddNode")
	}
	if req.GetNodeId() == 0 || req.GetAddress() == "" {
		return nil, status.Error(codes.InvalidArgument, "AddNode: need a node id > 0 and its address")
	}
	if err := s.cfg.Membership.AddNode(ctx, req.GetNodeId(), req.GetAddress()); err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "AddNode %d (%s): %v", req.GetNodeId(), req.GetAddress(), err)
	}
	s.events.Appendf(slog.LevelInfo, "console: node %d (%s) added", req.GetNodeId(), req.GetAddress())
	return &consolepb.AddNodeResponse{}, nil
}

// RemoveNode (mutating) needs Membership (cluster mode).
func (s *Server) RemoveNode(ctx context.Context, req *consolepb.RemoveNodeRequest) (*consolepb.RemoveNodeResponse, error) {
	if err := s.requireAdmin(ctx, "RemoveNode"); err != nil {
		return nil, err
	}
	if s.cfg.Membership == nil {
		return nil, s.noMembership("RemoveNode")
	}
	if req.GetNodeId() == 0 {
		return nil, status.Error(codes.InvalidArgument, "RemoveNode: need a node id > 0")
	}
	if err := s.cfg.Membership.RemoveNode(ctx, req.GetNodeId()); err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "RemoveNode %d: %v", req.GetNodeId(), err)
	}
	s.events.Appendf(slog.LevelWarn, "console: node %d removed", req.GetNodeId())
	return &consolepb.RemoveNodeResponse{}, nil
}

// noMembership is the UNIMPLEMENTED answer of a membership RPC without a Membership backend.
func (s *Server) noMembership(rpc string) error {
	if s.src.Node().Mode == ModeCluster {
		return status.Errorf(codes.Unimplemented, missingMembership, rpc)
	}
	return status.Errorf(codes.Unimplemented, missingStandalone, rpc)
}
