package kafka

// SyncGroup (key 14), versions 0–3 (flexible from 4). Thin adapter over the group coordinator.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleSyncGroup(ctx context.Context, _ *requestContext, r *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse {
	return s.deps.Groups.SyncGroup(ctx, r)
}
