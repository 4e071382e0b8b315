package kafka

// LeaveGroup (key 13), versions 0–3 (flexible from 4; batched members from 3). Thin adapter over the group
// coordinator.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleLeaveGroup(ctx context.Context, _ *requestContext, r *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	return s.deps.Groups.LeaveGroup(ctx, r)
}
