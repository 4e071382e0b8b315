package kafka

// JoinGroup (key 11), versions 0–5 (flexible from 6). Thin adapter: the group coordinator (broker/groups)
// runs the protocol, including the MEMBER_ID_REQUIRED round trip of v4+ and static members
// (v5); it records the request header's client id and the client host.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleJoinGroup(ctx context.Context, rc *requestContext, r *kmsg.JoinGroupRequest) *kmsg.JoinGroupResponse {
	return s.deps.Groups.JoinGroup(s.groupContext(ctx, rc), r)
}
