package groups

import (
	"bytes"
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SyncGroup handles SyncGroup v0–v3 (v5 protocol checks are honoured when present). In
// CompletingRebalance followers wait until the leader's SyncGroup delivers the assignment;
// the leader's call stores the group and makes it Stable. In Stable the member's current
// assignment is returned at once.
func (c *Coordinator) SyncGroup(ctx context.Context, r *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse {
	resp := r.ResponseKind().(*kmsg.SyncGroupResponse)
	res, wait := c.sync(r)
	if wait != nil {
		select {
		case res = <-wait:
		case <-ctx.Done():
			res = syncResult{code: kerr.NotCoordinator.Code}
		case <-c.done:
			res = syncResult{code: kerr.NotCoordinator.Code}
		}
	}
	resp.ErrorCode = res.code
	if res.code == 0 {
		resp.ProtocolType = kmsg.StringPtr(res.protocolType)
		resp.Protocol = kmsg.StringPtr(res.protocol)
		resp.MemberAssignment = res.assignment
	}
	return resp
}

func (c *Coordinator) sync(r *kmsg.SyncGroupRequest) (syncResult, <-chan syncResult) {
	fail := func(e *kerr.Error) (syncResult, <-chan syncResult) { return syncResult{code: e.Code}, nil }
	switch {
	case c.isClosed():
		return fail(kerr.NotCoordinator)
	case r.Group == "":
		return fail(kerr.InvalidGroupID)
	}
	g := c.lockLive(r.Group, false)
	if g == nil {
		return fail(kerr.UnknownMemberID)
	}
	defer g.mu.Unlock()
	if g.fenced(r.InstanceID, r.MemberID) {
		return fail(kerr.FencedInstanceID)
	}
	m, ok := g.members[r.MemberID]
	switch {
	case !ok:
		return fail(kerr.UnknownMemberID)
	case r.Generation != g.generation:
		return fail(kerr.IllegalGeneration)
	case r.ProtocolType != nil && *r.ProtocolType != g.protocolType,
		r.Protocol != nil && *r.Protocol != g.protocol:
		return fail(kerr.InconsistentGroupProtocol)
	}
	switch g.state {
	case statePreparingRebalance:
		return fail(kerr.RebalanceInProgress)
	case stateCompletingRebalance:
		delete(g.pendingSync, m.id)
		c.heartbeatLocked(g, m)
		if m.syncCh != nil {
			m.syncCh <- syncResult{code: kerr.RebalanceInProgress.Code} // superseded duplicate
		}
		ch := make(chan syncResult, 1)
		m.syncCh = ch
		if m.id == g.leader {
			assignments := make(map[string][]byte, len(r.GroupAssignment))
			for _, a := range r.GroupAssignment {
				if _, ok := g.members[a.MemberID]; ok {
					assignments[a.MemberID] = bytes.Clone(a.MemberAssignment)
				}
			}
			c.completeSyncLocked(g, assignments)
		}
		return syncResult{}, ch
	case stateStable:
		delete(g.pendingSync, m.id)
		c.heartbeatLocked(g, m)
		return syncResult{protocolType: g.protocolType, protocol: g.protocol, assignment: m.assignment}, nil
	default:
		return fail(kerr.UnknownMemberID)
	}
}
