package kafka

// DeleteGroups (key 42), versions 0–1 (flexible from 2). Thin adapter over the group coordinator.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleDeleteGroups(ctx context.Context, _ *requestContext, r *kmsg.DeleteGroupsRequest) *kmsg.DeleteGroupsResponse {
	return s.deps.Groups.DeleteGroups(ctx, r)
}
