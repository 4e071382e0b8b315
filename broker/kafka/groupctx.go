package kafka

import (
	"context"

	"github.com/chronik-stream/chronik/broker/groups"
)

// groupContext attaches the request header's client id and the client host for the group
// coordinator (JoinGroup records them; DescribeGroups reports them).
func (s *Server) groupContext(ctx context.Context, rc *requestContext) context.Context {
	return groups.WithClientInfo(ctx, string(rc.clientID), rc.host)
}
