package kafka

// Heartbeat (key 12), versions 0–3 (flexible from 4). Thin adapter over the group coordinator.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleHeartbeat(ctx context.Context, _ *requestContext, r *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	return s.deps.Groups.Heartbeat(ctx, r)
}
