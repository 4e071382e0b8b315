package groups

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// JoinGroup handles JoinGroup v0–v5. It blocks until the rebalance the member joins completes
// (or ctx ends). v4+ members without a member id (and without group.instance.id) first get
// MEMBER_ID_REQUIRED with their new id; static members rejoining with a new member id take
// over their instance's membership, without a rebalance when the group is Stable and their
// protocols are unchanged.
func (c *Coordinator) JoinGroup(ctx context.Context, r *kmsg.JoinGroupRequest) *kmsg.JoinGroupResponse {
	resp := r.ResponseKind().(*kmsg.JoinGroupResponse)
	res, wait := c.join(ctx, r)
	if wait != nil {
		select {
		case res = <-wait:
		case <-ctx.Done():
			res = joinResult{code: kerr.NotCoordinator.Code, memberID: r.MemberID}
		case <-c.done:
			res = joinResult{code: kerr.NotCoordinator.Code, memberID: r.MemberID}
		}
	}
	resp.ErrorCode = res.code
	resp.MemberID = res.memberID
	resp.Generation = -1
	resp.Protocol = kmsg.StringPtr("")
	if res.code != 0 {
		return resp
	}
	resp.Generation = res.generation
	resp.ProtocolType = kmsg.StringPtr(res.protocolType)
	resp.Protocol = kmsg.StringPtr(res.protocol)
	resp.LeaderID = res.leader
	resp.Members = res.members
	return resp
}

// join validates r and registers it; it returns either a final result or a channel on which
// the result will arrive.
func (c *Coordinator) join(ctx context.Context, r *kmsg.JoinGroupRequest) (joinResult, <-chan joinResult) {
	fail := func(e *kerr.Error) (joinResult, <-chan joinResult) {
		return joinResult{code: e.Code, memberID: r.MemberID}, nil
	}
	switch {
	case c.isClosed():
		return fail(kerr.NotCoordinator)
	case r.Group == "":
		return fail(kerr.InvalidGroupID)
	case r.SessionTimeoutMillis < c.cfg.MinSessionTimeoutMs || r.SessionTimeoutMillis > c.cfg.MaxSessionTimeoutMs:
		return fail(kerr.InvalidSessionTimeout)
	}
	g := c.lockLive(r.Group, r.MemberID == "")
	if g == nil {
		return fail(kerr.UnknownMemberID)
	}
	defer g.mu.Unlock()
	defer c.maybeDropLocked(g) // a failed first join must not leave a phantom group behind
	if !g.supportsProtocols(r.ProtocolType, r.Protocols) {
		return fail(kerr.InconsistentGroupProtocol)
	}
	if r.MemberID == "" {
		return c.joinUnknownLocked(ctx, g, r)
	}
	return c.joinKnownLocked(ctx, g, r)
}

// newMemberFrom builds a member from a JoinGroup request.
func newMemberFrom(ctx context.Context, id string, r *kmsg.JoinGroupRequest) *member {
	ci := clientFrom(ctx)
	m := &member{id: id, clientID: ci.id, clientHost: ci.host}
	if r.InstanceID != nil {
		m.instanceID = *r.InstanceID
	}
	m.update(r)
	return m
}

// update applies a JoinGroup's timeouts and protocols to m.
func (m *member) update(r *kmsg.JoinGroupRequest) {
	m.sessionTimeout = ms(r.SessionTimeoutMillis)
	m.rebalanceTimeout = ms(r.RebalanceTimeoutMillis)
	if r.Version == 0 || r.RebalanceTimeoutMillis <= 0 {
		m.rebalanceTimeout = m.sessionTimeout // v0 has no rebalance timeout
	}
	m.protocols = copyProtocols(r.Protocols)
}

func instanceOf(r *kmsg.JoinGroupRequest) string {
	if r.InstanceID == nil {
		return ""
	}
	return *r.InstanceID
}

func (c *Coordinator) joinUnknownLocked(ctx context.Context, g *group, r *kmsg.JoinGroupRequest) (joinResult, <-chan joinResult) {
	inst := instanceOf(r)
	prefix := clientFrom(ctx).id
	if inst != "" {
		prefix = inst
	}
	id := newMemberID(prefix)
	if inst != "" {
		if oldID, ok := g.static[inst]; ok {
			return c.replaceStaticLocked(ctx, g, g.members[oldID], id, r)
		}
		return joinResult{}, c.addMemberAndRebalanceLocked(g, newMemberFrom(ctx, id, r), r.ProtocolType)
	}
	if r.Version >= 4 {
		c.addPendingLocked(g, id, ms(r.SessionTimeoutMillis))
		return joinResult{code: kerr.MemberIDRequired.Code, memberID: id, generation: -1}, nil
	}
	return joinResult{}, c.addMemberAndRebalanceLocked(g, newMemberFrom(ctx, id, r), r.ProtocolType)
}

func (c *Coordinator) joinKnownLocked(ctx context.Context, g *group, r *kmsg.JoinGroupRequest) (joinResult, <-chan joinResult) {
	fail := func(e *kerr.Error) (joinResult, <-chan joinResult) {
		return joinResult{code: e.Code, memberID: r.MemberID, generation: -1}, nil
	}
	if _, ok := g.pending[r.MemberID]; ok {
		delete(g.pending, r.MemberID)
		return joinResult{}, c.addMemberAndRebalanceLocked(g, newMemberFrom(ctx, r.MemberID, r), r.ProtocolType)
	}
	if g.fenced(r.InstanceID, r.MemberID) {
		return fail(kerr.FencedInstanceID)
	}
	m, ok := g.members[r.MemberID]
	if !ok || (instanceOf(r) != "" && m.instanceID != instanceOf(r)) {
		return fail(kerr.UnknownMemberID)
	}
	switch g.state {
	case statePreparingRebalance:
		return joinResult{}, c.updateMemberLocked(g, m, r)
	case stateCompletingRebalance:
		if m.sameProtocols(r.Protocols) {
			// The member probably lost our answer: repeat it.
			c.heartbeatLocked(g, m)
			return g.currentJoinResult(m), nil
		}
		ch := c.updateMemberLocked(g, m, r)
		c.prepareRebalanceLocked(g, "member "+m.id+" changed its protocols")
		c.tryCompleteJoinLocked(g)
		return joinResult{}, ch
	case stateStable:
		if m.id != g.leader && m.sameProtocols(r.Protocols) {
			c.heartbeatLocked(g, m)
			return g.currentJoinResult(m), nil
		}
		// A leader rejoining asks for a new assignment (e.g. topic metadata changed).
		ch := c.updateMemberLocked(g, m, r)
		c.prepareRebalanceLocked(g, "member "+m.id+" rejoined")
		c.tryCompleteJoinLocked(g)
		return joinResult{}, ch
	default:
		return fail(kerr.UnknownMemberID)
	}
}

// addMemberAndRebalanceLocked adds m as a member waiting in JoinGroup and starts or advances
// the rebalance.
func (c *Coordinator) addMemberAndRebalanceLocked(g *group, m *member, protocolType string) <-chan joinResult {
	ch := make(chan joinResult, 1)
	m.joinCh = ch
	g.addMember(m, protocolType)
	c.heartbeatLocked(g, m)
	if g.state == statePreparingRebalance && g.initialDelay {
		g.newMemberAdded = true
	}
	if g.state != statePreparingRebalance {
		c.prepareRebalanceLocked(g, "member "+m.id+" joined")
	}
	c.tryCompleteJoinLocked(g)
	return ch
}

// updateMemberLocked makes m wait in JoinGroup with r's protocols; in PreparingRebalance it
// may complete the join phase.
func (c *Coordinator) updateMemberLocked(g *group, m *member, r *kmsg.JoinGroupRequest) <-chan joinResult {
	if m.joinCh != nil {
		// An older JoinGroup of this member is still waiting (its connection is probably gone).
		m.joinCh <- joinResult{code: kerr.RebalanceInProgress.Code, memberID: m.id, generation: -1}
	}
	m.update(r)
	ch := make(chan joinResult, 1)
	m.joinCh = ch
	c.heartbeatLocked(g, m)
	if g.state == statePreparingRebalance {
		c.tryCompleteJoinLocked(g)
	}
	return ch
}

// replaceStaticLocked hands the membership of a static member to a new member id. The old
// member id is fenced (its waiting calls get FENCED_INSTANCE_ID). In a Stable group with
// unchanged protocols there is no rebalance: the member gets the current generation and,
// like Kafka before KIP-814, the old leader id, so that it syncs as a follower and receives
// its existing assignment.
func (c *Coordinator) replaceStaticLocked(ctx context.Context, g *group, old *member, newID string, r *kmsg.JoinGroupRequest) (joinResult, <-chan joinResult) {
	if old == nil { // cannot happen: static ids always name members
		delete(g.static, instanceOf(r))
		return joinResult{}, c.addMemberAndRebalanceLocked(g, newMemberFrom(ctx, newID, r), r.ProtocolType)
	}
	oldLeader := g.leader
	unchanged := old.sameProtocols(r.Protocols)
	if old.joinCh != nil {
		old.joinCh <- joinResult{code: kerr.FencedInstanceID.Code, memberID: old.id, generation: -1}
		old.joinCh = nil
	}
	if old.syncCh != nil {
		old.syncCh <- syncResult{code: kerr.FencedInstanceID.Code}
		old.syncCh = nil
	}
	m := newMemberFrom(ctx, newID, r)
	m.assignment = old.assignment
	delete(g.members, old.id)
	g.members[newID] = m
	for i, id := range g.order {
		if id == old.id {
			g.order[i] = newID
		}
	}
	g.static[m.instanceID] = newID
	if g.leader == old.id {
		g.leader = newID
	}
	if _, ok := g.pendingSync[old.id]; ok {
		delete(g.pendingSync, old.id)
		g.pendingSync[newID] = struct{}{}
	}
	c.heartbeatLocked(g, m)
	c.log.Info("static member rejoined with a new member id", "group", g.name,
		"instance", m.instanceID, "old_member", old.id, "member", newID)

	switch g.state {
	case stateStable:
		if unchanged {
			if err := c.persistLocked(g); err != nil {
				c.log.Warn("keeping replaced static member in memory only", "group", g.name, "err", err)
			}
			res := g.currentJoinResult(m)
			res.leader = oldLeader
			res.members = nil
			return res, nil
		}
		ch := make(chan joinResult, 1)
		m.joinCh = ch
		c.prepareRebalanceLocked(g, "static member "+m.instanceID+" changed its protocols")
		c.tryCompleteJoinLocked(g)
		return joinResult{}, ch
	case stateCompletingRebalance:
		// The leader may already be assigning to the old member id: rebalance.
		ch := make(chan joinResult, 1)
		m.joinCh = ch
		c.prepareRebalanceLocked(g, "static member "+m.instanceID+" rejoined during sync")
		c.tryCompleteJoinLocked(g)
		return joinResult{}, ch
	default: // PreparingRebalance
		ch := make(chan joinResult, 1)
		m.joinCh = ch
		c.tryCompleteJoinLocked(g)
		return joinResult{}, ch
	}
}
