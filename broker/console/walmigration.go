package console

import (
	"context"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// WalMigrator converts a running node's V2 WAL segments to V3 in the background.
type WalMigrator interface {
	// StartWalMigration starts the conversion and returns its id; an error means it did not
	// start (cluster mode, one already running, nothing to convert).
	StartWalMigration(workers int, skipErrors bool) (string, error)
}

// StartWalMigration (mutating, irreversible for v1.x) converts the answering node's WAL to V3;
// progress is in MigrationProgress and the Migration field of WatchCluster.
func (s *Server) StartWalMigration(ctx context.Context, req *consolepb.StartWalMigrationRequest) (*consolepb.StartWalMigrationResponse, error) {
	if err := s.requireAdmin(ctx, "StartWalMigration"); err != nil {
		return nil, err
	}
	if s.cfg.WalMigrator == nil {
		return nil, status.Error(codes.Unimplemented, missingWalMigration)
	}
	if id := req.GetNodeId(); id != 0 && id != s.src.Node().ID {
		return nil, status.Errorf(codes.InvalidArgument, "StartWalMigration: node %d answers, not node %d: connect the console to node %d", s.src.Node().ID, id, id)
	}
	id, err := s.cfg.WalMigrator.StartWalMigration(int(req.GetWorkers()), req.GetSkipErrors())
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "StartWalMigration: %v", err)
	}
	s.events.Appendf(slog.LevelWarn, "console: WAL migration %s started (V2 → V3; v1.x can no longer read this data)", id)
	return &consolepb.StartWalMigrationResponse{MigrationId: id}, nil
}
