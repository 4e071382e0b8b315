package kafka

// ListGroups (key 16), versions 0–3 (flexible from 3). Thin adapter over the group coordinator; groups that
// only ever committed offsets are listed too.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleListGroups(ctx context.Context, _ *requestContext, r *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse {
	return s.deps.Groups.ListGroups(ctx, r)
}
