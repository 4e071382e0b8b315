package kafka

// OffsetDelete (key 47), versions 0. Thin adapter over the group coordinator.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleOffsetDelete(ctx context.Context, _ *requestContext, r *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse {
	return s.deps.Groups.OffsetDelete(ctx, r)
}
