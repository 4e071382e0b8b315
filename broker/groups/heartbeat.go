package groups

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Heartbeat handles Heartbeat v0–v3: it keeps the member's session alive and tells it, with
// REBALANCE_IN_PROGRESS, to rejoin while the group prepares a rebalance.
func (c *Coordinator) Heartbeat(_ context.Context, r *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	resp := r.ResponseKind().(*kmsg.HeartbeatResponse)
	resp.ErrorCode = c.heartbeat(r)
	return resp
}

func (c *Coordinator) heartbeat(r *kmsg.HeartbeatRequest) int16 {
	switch {
	case c.isClosed():
		return kerr.NotCoordinator.Code
	case r.Group == "":
		return kerr.InvalidGroupID.Code
	}
	g := c.lockLive(r.Group, false)
	if g == nil {
		return kerr.UnknownMemberID.Code
	}
	defer g.mu.Unlock()
	if g.fenced(r.InstanceID, r.MemberID) {
		return kerr.FencedInstanceID.Code
	}
	m, ok := g.members[r.MemberID]
	switch {
	case g.state == stateEmpty || !ok:
		return kerr.UnknownMemberID.Code
	case r.Generation != g.generation:
		return kerr.IllegalGeneration.Code
	}
	c.heartbeatLocked(g, m)
	if g.state == statePreparingRebalance {
		return kerr.RebalanceInProgress.Code
	}
	return 0
}
