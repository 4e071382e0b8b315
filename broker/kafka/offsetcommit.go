package kafka

// OffsetCommit (key 8), versions 0–7 (flexible from 8). Thin adapter over the group coordinator, which
// stores offsets durably in meta (v0–v1 commits of simple consumers included).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleOffsetCommit(ctx context.Context, _ *requestContext, r *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	return s.deps.Groups.OffsetCommit(ctx, r)
}
