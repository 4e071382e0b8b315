package groups

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// LeaveGroup handles LeaveGroup v0–v3. v3 removes a batch of members, each named by member id
// or by group.instance.id; one rebalance follows. Before v3 the single member's error is the
// top-level error.
func (c *Coordinator) LeaveGroup(_ context.Context, r *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	resp := r.ResponseKind().(*kmsg.LeaveGroupResponse)
	leaving := r.Members
	if r.Version < 3 {
		leaving = []kmsg.LeaveGroupRequestMember{{MemberID: r.MemberID}}
	}
	top, codes := c.leave(r.Group, leaving)
	resp.ErrorCode = top
	if r.Version < 3 {
		if top == 0 {
			resp.ErrorCode = codes[0]
		}
		return resp
	}
	if top != 0 {
		return resp
	}
	for i, lm := range leaving {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID = lm.MemberID
		rm.InstanceID = lm.InstanceID
		rm.ErrorCode = codes[i]
		resp.Members = append(resp.Members, rm)
	}
	return resp
}

func (c *Coordinator) leave(name string, leaving []kmsg.LeaveGroupRequestMember) (int16, []int16) {
	codes := make([]int16, len(leaving))
	switch {
	case c.isClosed():
		return kerr.NotCoordinator.Code, codes
	case name == "":
		return kerr.InvalidGroupID.Code, codes
	}
	g := c.lockLive(name, false)
	if g == nil {
		for i := range codes {
			codes[i] = kerr.UnknownMemberID.Code
		}
		return 0, codes
	}
	defer g.mu.Unlock()
	var removed, pendingRemoved int
	for i, lm := range leaving {
		if lm.InstanceID != nil && *lm.InstanceID != "" {
			id, ok := g.static[*lm.InstanceID]
			switch {
			case !ok:
				codes[i] = kerr.UnknownMemberID.Code
			case lm.MemberID != "" && lm.MemberID != id:
				codes[i] = kerr.FencedInstanceID.Code
			default:
				c.log.Info("static member left group", "group", g.name, "instance", *lm.InstanceID, "member", id)
				c.removeMemberLocked(g, g.members[id], kerr.UnknownMemberID.Code)
				removed++
			}
			continue
		}
		if _, ok := g.pending[lm.MemberID]; ok {
			delete(g.pending, lm.MemberID)
			pendingRemoved++
			continue
		}
		m, ok := g.members[lm.MemberID]
		if !ok {
			codes[i] = kerr.UnknownMemberID.Code
			continue
		}
		c.log.Info("member left group", "group", g.name, "member", m.id)
		c.removeMemberLocked(g, m, kerr.UnknownMemberID.Code)
		removed++
	}
	switch {
	case removed > 0:
		c.membershipChangedLocked(g, "members left")
	case pendingRemoved > 0:
		c.tryCompleteJoinLocked(g)
		c.maybeDropLocked(g)
	}
	return 0, codes
}
