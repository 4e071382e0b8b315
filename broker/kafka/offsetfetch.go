package kafka

// OffsetFetch (key 9), versions 0–7 (flexible from 6; batched groups from 8 are not served). Thin
// adapter over the group coordinator.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleOffsetFetch(ctx context.Context, _ *requestContext, r *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse {
	return s.deps.Groups.OffsetFetch(ctx, r)
}
