package groups

import (
	"bytes"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-stream/chronik/broker/meta"
)

// This file holds the state-machine steps shared by the APIs. Every function here requires
// g.mu to be held.

// heartbeatLocked records liveness of m and makes sure a session check is scheduled no later
// than its new deadline (one live check per member; superseded checks are no-ops).
func (c *Coordinator) heartbeatLocked(g *group, m *member) {
	m.lastSeen = time.Now()
	deadline := m.lastSeen.Add(m.sessionTimeout)
	if m.armed && !deadline.Before(m.checkAt) {
		return // the pending check will find the newer lastSeen and reschedule itself
	}
	m.armed = true
	m.sessionSeq++
	c.scheduleSessionCheckLocked(g, m, deadline)
}

func (c *Coordinator) scheduleSessionCheckLocked(g *group, m *member, at time.Time) {
	m.checkAt = at
	seq := m.sessionSeq
	c.timers.at(at, func() { c.checkSession(g, m, seq) })
}

// checkSession expires m if it has not been seen for its session timeout. A member with a
// JoinGroup or SyncGroup outstanding is alive (as in Kafka): those waits are bounded by the
// rebalance timeout.
func (c *Coordinator) checkSession(g *group, m *member, seq uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == stateDead || g.members[m.id] != m || m.sessionSeq != seq {
		return
	}
	now := time.Now()
	next := m.lastSeen.Add(m.sessionTimeout)
	if m.joinCh != nil || m.syncCh != nil {
		next = now.Add(m.sessionTimeout)
	}
	if now.Before(next) {
		c.scheduleSessionCheckLocked(g, m, next)
		return
	}
	m.armed = false
	c.log.Info("group member session expired", "group", g.name, "member", m.id,
		"generation", g.generation, "session_timeout", m.sessionTimeout)
	c.removeMemberLocked(g, m, kerr.UnknownMemberID.Code)
	c.membershipChangedLocked(g, "member session expired")
}

// addPendingLocked records a member id handed out with MEMBER_ID_REQUIRED; it is forgotten
// after sessionTimeout unless the member joins with it.
func (c *Coordinator) addPendingLocked(g *group, id string, sessionTimeout time.Duration) {
	p := &pending{}
	g.pending[id] = p
	c.timers.at(time.Now().Add(sessionTimeout), func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.state == stateDead || g.pending[id] != p {
			return
		}
		delete(g.pending, id)
		c.tryCompleteJoinLocked(g)
		c.maybeDropLocked(g)
	})
}

// removeMemberLocked removes m from g, answering its outstanding JoinGroup/SyncGroup with code.
// It does not trigger a rebalance (see membershipChangedLocked).
func (c *Coordinator) removeMemberLocked(g *group, m *member, code int16) {
	if m.joinCh != nil {
		m.joinCh <- joinResult{code: code, memberID: m.id, generation: -1}
		m.joinCh = nil
	}
	if m.syncCh != nil {
		m.syncCh <- syncResult{code: code}
		m.syncCh = nil
	}
	g.detachMember(m)
}

// membershipChangedLocked reacts to members having been removed.
func (c *Coordinator) membershipChangedLocked(g *group, reason string) {
	switch g.state {
	case stateStable, stateCompletingRebalance:
		c.prepareRebalanceLocked(g, reason)
		c.tryCompleteJoinLocked(g)
	case statePreparingRebalance:
		c.tryCompleteJoinLocked(g)
	}
}

// prepareRebalanceLocked moves g to PreparingRebalance and arms the rebalance timeout (or, for
// a group leaving Empty, the initial rebalance delay).
func (c *Coordinator) prepareRebalanceLocked(g *group, reason string) {
	if g.state == stateCompletingRebalance {
		// The leader's assignment for this generation will never be accepted.
		for _, m := range g.members {
			m.assignment = nil
			if m.syncCh != nil {
				m.syncCh <- syncResult{code: kerr.RebalanceInProgress.Code}
				m.syncCh = nil
			}
		}
	}
	wasEmpty := g.state == stateEmpty
	g.state = statePreparingRebalance
	g.pendingSync = nil
	g.rebalanceSeq++
	seq := g.rebalanceSeq
	now := time.Now()
	timeout := g.maxRebalanceTimeout()
	g.joinDeadline = now.Add(timeout)
	g.initialDelay = wasEmpty && c.cfg.InitialRebalanceDelayMs > 0
	g.newMemberAdded = false
	fire := g.joinDeadline
	if g.initialDelay {
		fire = now.Add(min(c.cfg.initialDelay(), timeout))
	}
	c.met.rebalances.Inc()
	c.log.Info("preparing group rebalance", "group", g.name, "generation", g.generation,
		"members", len(g.members), "reason", reason)
	c.timers.at(fire, func() { c.onJoinTimer(g, seq) })
}

// onJoinTimer ends a PreparingRebalance phase at its deadline (or extends the initial delay
// while members keep arriving).
func (c *Coordinator) onJoinTimer(g *group, seq uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state != statePreparingRebalance || g.rebalanceSeq != seq {
		return
	}
	if g.initialDelay {
		remaining := time.Until(g.joinDeadline)
		if g.newMemberAdded && remaining > 0 {
			g.newMemberAdded = false
			c.timers.at(time.Now().Add(min(c.cfg.initialDelay(), remaining)), func() { c.onJoinTimer(g, seq) })
			return
		}
		g.initialDelay = false
	}
	c.completeJoinLocked(g)
}

// tryCompleteJoinLocked completes the join phase early once every member has rejoined.
func (c *Coordinator) tryCompleteJoinLocked(g *group) {
	if g.state == statePreparingRebalance && !g.initialDelay && g.allJoined() {
		c.completeJoinLocked(g)
	}
}

// completeJoinLocked ends PreparingRebalance: members that did not rejoin are removed, the
// generation advances, and every waiting member gets its JoinGroup answer (the leader with
// the member list). A group left without members becomes Empty.
func (c *Coordinator) completeJoinLocked(g *group) {
	for _, id := range append([]string(nil), g.order...) {
		if m := g.members[id]; m.joinCh == nil {
			c.log.Info("removing group member that did not rejoin", "group", g.name, "member", id)
			c.removeMemberLocked(g, m, kerr.UnknownMemberID.Code)
		}
	}
	g.generation++
	if len(g.members) == 0 {
		g.state = stateEmpty
		g.protocol = ""
		g.leader = ""
		c.persistLocked(g)
		c.log.Info("group is empty", "group", g.name, "generation", g.generation)
		return
	}
	g.protocol = g.selectProtocol()
	if m := g.members[g.leader]; m == nil {
		g.leader = g.order[0]
	}
	g.state = stateCompletingRebalance
	g.pendingSync = make(map[string]struct{}, len(g.members))
	for _, id := range g.order {
		m := g.members[id]
		m.assignment = nil
		g.pendingSync[id] = struct{}{}
		m.joinCh <- g.currentJoinResult(m)
		m.joinCh = nil
		c.heartbeatLocked(g, m)
	}
	gen := g.generation
	c.timers.at(time.Now().Add(g.maxRebalanceTimeout()), func() { c.onSyncTimer(g, gen) })
	c.log.Info("group rebalance joined", "group", g.name, "generation", g.generation,
		"protocol", g.protocol, "leader", g.leader, "members", len(g.members))
}

// onSyncTimer removes members that received their JoinGroup answer for generation gen but
// never sent SyncGroup within the rebalance timeout, and rebalances.
func (c *Coordinator) onSyncTimer(g *group, gen int32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.generation != gen || len(g.pendingSync) == 0 ||
		(g.state != stateCompletingRebalance && g.state != stateStable) {
		return
	}
	for _, id := range append([]string(nil), g.order...) {
		if _, ok := g.pendingSync[id]; ok {
			c.log.Info("removing group member that did not sync", "group", g.name, "member", id, "generation", gen)
			c.removeMemberLocked(g, g.members[id], kerr.UnknownMemberID.Code)
		}
	}
	g.pendingSync = nil
	c.membershipChangedLocked(g, "members did not sync")
}

// completeSyncLocked applies the leader's assignment: the group is persisted, every waiting
// SyncGroup is answered and the group becomes Stable. If persisting fails the waiters get
// the error and the group rebalances, as in Kafka.
func (c *Coordinator) completeSyncLocked(g *group, assignments map[string][]byte) {
	for _, m := range g.members {
		m.assignment = assignments[m.id]
		if m.assignment == nil {
			m.assignment = []byte{}
		}
	}
	if err := c.persistLocked(g); err != nil {
		for _, m := range g.members {
			m.assignment = nil
			if m.syncCh != nil {
				m.syncCh <- syncResult{code: storeErrCode(err)}
				m.syncCh = nil
			}
		}
		c.prepareRebalanceLocked(g, "storing the group failed")
		c.tryCompleteJoinLocked(g)
		return
	}
	g.state = stateStable
	for _, m := range g.members {
		if m.syncCh != nil {
			m.syncCh <- syncResult{protocolType: g.protocolType, protocol: g.protocol, assignment: m.assignment}
			m.syncCh = nil
		}
	}
	c.log.Info("group stable", "group", g.name, "generation", g.generation, "members", len(g.members))
}

// persistLocked writes g's record to the store.
func (c *Coordinator) persistLocked(g *group) error {
	rec := meta.GroupRecord{
		Name:         g.name,
		ProtocolType: g.protocolType,
		Protocol:     g.protocol,
		Leader:       g.leader,
		Generation:   g.generation,
	}
	for _, id := range g.order {
		m := g.members[id]
		rec.Members = append(rec.Members, meta.GroupMemberRecord{
			MemberID:           m.id,
			InstanceID:         m.instanceID,
			ClientID:           m.clientID,
			ClientHost:         m.clientHost,
			SessionTimeoutMs:   int32(m.sessionTimeout / time.Millisecond),
			RebalanceTimeoutMs: int32(m.rebalanceTimeout / time.Millisecond),
			ProtocolMetadata:   bytes.Clone(m.metadataFor(g.protocol)),
			Assignment:         bytes.Clone(m.assignment),
		})
	}
	if err := c.store.PutGroup(c.ctx, rec); err != nil {
		c.log.Error("storing group failed", "group", g.name, "generation", g.generation, "err", err)
		return err
	}
	g.persisted = true
	return nil
}

// recover loads the groups recorded in the store.
func (c *Coordinator) recover() {
	for _, rec := range c.store.Groups() {
		g := newGroup(rec.Name)
		g.persisted = true
		g.protocolType = rec.ProtocolType
		g.generation = rec.Generation
		for _, mr := range rec.Members {
			m := &member{
				id:               mr.MemberID,
				instanceID:       mr.InstanceID,
				clientID:         mr.ClientID,
				clientHost:       mr.ClientHost,
				sessionTimeout:   ms(mr.SessionTimeoutMs),
				rebalanceTimeout: ms(mr.RebalanceTimeoutMs),
				protocols: []kmsg.JoinGroupRequestProtocol{{
					Name: rec.Protocol, Metadata: bytes.Clone(mr.ProtocolMetadata),
				}},
				assignment: bytes.Clone(mr.Assignment),
			}
			g.addMember(m, rec.ProtocolType)
			c.heartbeatLocked(g, m)
		}
		if len(g.members) > 0 {
			g.state = stateStable
			g.protocol = rec.Protocol
			if _, ok := g.members[rec.Leader]; ok {
				g.leader = rec.Leader
			}
		}
		c.groups[g.name] = g
		c.log.Info("group recovered", "group", g.name, "state", g.state.String(),
			"generation", g.generation, "members", len(g.members))
	}
}
