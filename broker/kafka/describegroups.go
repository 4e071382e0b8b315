package kafka

// DescribeGroups (key 15), versions 0–4 (flexible from 5). Thin adapter over the group coordinator.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleDescribeGroups(ctx context.Context, _ *requestContext, r *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse {
	return s.deps.Groups.DescribeGroups(ctx, r)
}
