package groups

import (
	"context"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListGroups handles ListGroups v0–v4 (the v4 states filter is honoured, case-insensitively).
// Commit-only groups are listed as Empty with their (usually empty) protocol type.
func (c *Coordinator) ListGroups(_ context.Context, r *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse {
	resp := r.ResponseKind().(*kmsg.ListGroupsResponse)
	if c.isClosed() {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp
	}
	for _, g := range c.snapshot() {
		g.mu.Lock()
		state, typ := g.state, g.protocolType
		g.mu.Unlock()
		if state == stateDead {
			continue
		}
		if len(r.StatesFilter) > 0 && !containsFold(r.StatesFilter, state.String()) {
			continue
		}
		if len(r.TypesFilter) > 0 && !containsFold(r.TypesFilter, "classic") {
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group = g.name
		lg.ProtocolType = typ
		lg.GroupState = state.String()
		lg.GroupType = "classic"
		resp.Groups = append(resp.Groups, lg)
	}
	return resp
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// DescribeGroups handles DescribeGroups v0–v4. Unknown groups are described as Dead. Member
// metadata and assignments are included only while the group is Stable, as in Kafka.
// Authorized operations are reported as not provided (-2147483648).
func (c *Coordinator) DescribeGroups(_ context.Context, r *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse {
	resp := r.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, name := range r.Groups {
		dg := kmsg.NewDescribeGroupsResponseGroup()
		dg.Group = name
		dg.State = stateDead.String()
		if c.isClosed() {
			dg.ErrorCode = kerr.NotCoordinator.Code
			resp.Groups = append(resp.Groups, dg)
			continue
		}
		if g := c.lockLive(name, false); g != nil {
			c.describeLocked(g, &dg)
			g.mu.Unlock()
		} else if r.Version >= 6 {
			dg.ErrorCode = kerr.GroupIDNotFound.Code
		}
		resp.Groups = append(resp.Groups, dg)
	}
	return resp
}

func (c *Coordinator) describeLocked(g *group, dg *kmsg.DescribeGroupsResponseGroup) {
	dg.State = g.state.String()
	dg.ProtocolType = g.protocolType
	stable := g.state == stateStable
	if stable {
		dg.Protocol = g.protocol
	}
	for _, id := range g.order {
		m := g.members[id]
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID = m.id
		if m.instanceID != "" {
			dm.InstanceID = kmsg.StringPtr(m.instanceID)
		}
		dm.ClientID = m.clientID
		dm.ClientHost = m.clientHost
		if stable {
			dm.ProtocolMetadata = m.metadataFor(g.protocol)
			dm.MemberAssignment = m.assignment
		}
		dg.Members = append(dg.Members, dm)
	}
}

// DeleteGroups handles DeleteGroups v0–v1: Empty groups are removed with their offsets;
// groups with members answer NON_EMPTY_GROUP, unknown ones GROUP_ID_NOT_FOUND.
func (c *Coordinator) DeleteGroups(ctx context.Context, r *kmsg.DeleteGroupsRequest) *kmsg.DeleteGroupsResponse {
	resp := r.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, name := range r.Groups {
		dg := kmsg.NewDeleteGroupsResponseGroup()
		dg.Group = name
		dg.ErrorCode = c.deleteGroup(ctx, name)
		resp.Groups = append(resp.Groups, dg)
	}
	return resp
}

func (c *Coordinator) deleteGroup(ctx context.Context, name string) int16 {
	if c.isClosed() {
		return kerr.NotCoordinator.Code
	}
	g := c.lockLive(name, false)
	if g == nil {
		return kerr.GroupIDNotFound.Code
	}
	defer g.mu.Unlock()
	if g.state != stateEmpty {
		return kerr.NonEmptyGroup.Code
	}
	if err := c.store.DeleteGroup(ctx, name); err != nil {
		c.log.Error("deleting group failed", "group", name, "err", err)
		return storeErrCode(err)
	}
	c.dropLocked(g)
	c.log.Info("group deleted", "group", name)
	return 0
}
