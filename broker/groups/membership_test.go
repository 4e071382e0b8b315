package groups

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestSyncGroupErrors(t *testing.T) {
	c, _ := newTestCoordinator(t)
	ctx := testCtx(t)
	m, gen := stableSingle(t, c, "stable")

	// "preparing": a stable group whose leader rejoined while a second member is still missing.
	a, _ := stableSingle(t, c, "preparing")
	second := joinReq(3, "preparing", "")
	go c.JoinGroup(ctx, second) // waits until the test ends (a never rejoins)
	eventually(t, "rebalance", func() bool { return stateOf(t, c, "preparing") == "PreparingRebalance" })

	tests := []struct {
		name string
		req  *kmsg.SyncGroupRequest
		want *kerr.Error
	}{
		{"ok", syncReq("stable", m, gen, nil), nil},
		{"empty group id", syncReq("", m, gen, nil), kerr.InvalidGroupID},
		{"unknown group", syncReq("nope", m, gen, nil), kerr.UnknownMemberID},
		{"unknown member", syncReq("stable", "m-x", gen, nil), kerr.UnknownMemberID},
		{"old generation", syncReq("stable", m, gen-1, nil), kerr.IllegalGeneration},
		{"rebalancing", syncReq("preparing", a, 1, nil), kerr.RebalanceInProgress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := c.SyncGroup(ctx, tt.req)
			wantCode(t, "sync", resp.ErrorCode, tt.want)
			if tt.want == nil && string(resp.MemberAssignment) != "a0" {
				t.Fatalf("assignment %q, want a0", resp.MemberAssignment)
			}
		})
	}
}

func TestHeartbeatErrors(t *testing.T) {
	c, _ := newTestCoordinator(t)
	ctx := testCtx(t)
	m, gen := stableSingle(t, c, "g")
	inst := "i-1"
	static := joinReq(5, "s", "")
	static.InstanceID = &inst
	js := c.JoinGroup(ctx, static)
	wantCode(t, "static join", js.ErrorCode, nil)

	fenced := hbReq("s", "someone-else", js.Generation)
	fenced.InstanceID = &inst
	tests := []struct {
		name string
		req  *kmsg.HeartbeatRequest
		want *kerr.Error
	}{
		{"ok", hbReq("g", m, gen), nil},
		{"empty group id", hbReq("", m, gen), kerr.InvalidGroupID},
		{"unknown group", hbReq("nope", m, gen), kerr.UnknownMemberID},
		{"unknown member", hbReq("g", "m-x", gen), kerr.UnknownMemberID},
		{"wrong generation", hbReq("g", m, gen+1), kerr.IllegalGeneration},
		{"completing rebalance", hbReq("s", js.MemberID, js.Generation), nil},
		{"fenced instance", fenced, kerr.FencedInstanceID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, "heartbeat", c.Heartbeat(ctx, tt.req).ErrorCode, tt.want)
		})
	}
}

func TestLeaveGroup(t *testing.T) {
	c, s := newTestCoordinator(t)
	ctx := testCtx(t)

	t.Run("v0 single member empties the group", func(t *testing.T) {
		m, gen := stableSingle(t, c, "g0")
		r := kmsg.NewPtrLeaveGroupRequest()
		r.Version = 0
		r.Group = "g0"
		r.MemberID = m
		wantCode(t, "leave", c.LeaveGroup(ctx, r).ErrorCode, nil)
		if st := stateOf(t, c, "g0"); st != "Empty" {
			t.Fatalf("state %s, want Empty", st)
		}
		rec, ok := s.group("g0")
		if !ok || len(rec.Members) != 0 || rec.Generation != gen+1 {
			t.Fatalf("stored record %+v (ok %v), want no members at generation %d", rec, ok, gen+1)
		}
		wantCode(t, "leave again", c.LeaveGroup(ctx, r).ErrorCode, kerr.UnknownMemberID)
	})

	t.Run("v3 batch by member and instance id", func(t *testing.T) {
		inst := "i-1"
		static := joinReq(5, "g3", "")
		static.InstanceID = &inst
		js := c.JoinGroup(ctx, static)
		wantCode(t, "static join", js.ErrorCode, nil)
		pend := c.JoinGroup(ctx, joinReq(4, "g3", "")) // a pending member id
		wantCode(t, "pending join", pend.ErrorCode, kerr.MemberIDRequired)

		other := "i-2"
		r := kmsg.NewPtrLeaveGroupRequest()
		r.Version = 3
		r.Group = "g3"
		r.Members = []kmsg.LeaveGroupRequestMember{
			{MemberID: "wrong", InstanceID: &inst},
			{InstanceID: &other},
			{MemberID: "m-unknown"},
			{MemberID: pend.MemberID},
			{InstanceID: &inst},
		}
		resp := c.LeaveGroup(ctx, r)
		wantCode(t, "top level", resp.ErrorCode, nil)
		want := []*kerr.Error{kerr.FencedInstanceID, kerr.UnknownMemberID, kerr.UnknownMemberID, nil, nil}
		if len(resp.Members) != len(want) {
			t.Fatalf("%d member answers, want %d", len(resp.Members), len(want))
		}
		for i, w := range want {
			wantCode(t, "member "+resp.Members[i].MemberID, resp.Members[i].ErrorCode, w)
		}
		if d := describe(t, c, "g3"); d.State != "Empty" || len(d.Members) != 0 {
			t.Fatalf("after leave: state %s members %d", d.State, len(d.Members))
		}
	})

	t.Run("unknown group", func(t *testing.T) {
		r := kmsg.NewPtrLeaveGroupRequest()
		r.Version = 3
		r.Group = "nope"
		r.Members = []kmsg.LeaveGroupRequestMember{{MemberID: "m"}}
		resp := c.LeaveGroup(ctx, r)
		wantCode(t, "top level", resp.ErrorCode, nil)
		wantCode(t, "member", resp.Members[0].ErrorCode, kerr.UnknownMemberID)
	})
}

func TestLeaderRejoinWithoutFollowerRemovesFollower(t *testing.T) {
	c, _ := newTestCoordinator(t)
	ctx := testCtx(t)
	a := joinReq(3, "g", "")
	a.RebalanceTimeoutMillis = 100
	ja := c.JoinGroup(ctx, a)
	b := joinReq(3, "g", "")
	b.RebalanceTimeoutMillis = 100
	done := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { done <- c.JoinGroup(ctx, b) }()
	eventually(t, "rebalance", func() bool { return stateOf(t, c, "g") == "PreparingRebalance" })
	a.MemberID = ja.MemberID
	ja2 := c.JoinGroup(ctx, a)
	jb := <-done
	wantCode(t, "a", ja2.ErrorCode, nil)
	wantCode(t, "b", jb.ErrorCode, nil)
	assign := map[string]string{ja2.MemberID: "A", jb.MemberID: "B"}
	go c.SyncGroup(ctx, syncReq("g", jb.MemberID, jb.Generation, nil))
	wantCode(t, "leader sync", c.SyncGroup(ctx, syncReq("g", ja2.MemberID, ja2.Generation, assign)).ErrorCode, nil)

	// The leader rejoins (asking for a new assignment); b keeps heartbeating but never
	// rejoins, so the rebalance timeout (100ms for both members) removes it.
	b2 := jb.MemberID
	res := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { res <- c.JoinGroup(ctx, a) }()
	eventually(t, "rebalance", func() bool {
		return c.Heartbeat(ctx, hbReq("g", b2, jb.Generation)).ErrorCode == kerr.RebalanceInProgress.Code
	})
	ja3 := <-res
	wantCode(t, "leader rejoin", ja3.ErrorCode, nil)
	if ja3.Generation != ja2.Generation+1 || len(ja3.Members) != 1 || ja3.Members[0].MemberID != ja.MemberID {
		t.Fatalf("generation %d members %v", ja3.Generation, ja3.Members)
	}
	wantCode(t, "removed follower heartbeat", c.Heartbeat(ctx, hbReq("g", b2, jb.Generation)).ErrorCode, kerr.UnknownMemberID)
}

func TestSessionExpiry(t *testing.T) {
	c, s := newTestCoordinator(t)
	ctx := testCtx(t)
	r := joinReq(3, "g", "")
	r.SessionTimeoutMillis = 100
	r.RebalanceTimeoutMillis = 100
	j := c.JoinGroup(ctx, r)
	wantCode(t, "join", j.ErrorCode, nil)
	wantCode(t, "sync", c.SyncGroup(ctx, syncReq("g", j.MemberID, j.Generation, nil)).ErrorCode, nil)
	eventually(t, "expiry", func() bool { return stateOf(t, c, "g") == "Empty" })
	wantCode(t, "heartbeat after expiry", c.Heartbeat(ctx, hbReq("g", j.MemberID, j.Generation)).ErrorCode, kerr.UnknownMemberID)
	if rec, _ := s.group("g"); len(rec.Members) != 0 || rec.Generation != j.Generation+1 {
		t.Fatalf("stored record %+v", rec)
	}
}

func TestSessionExpiryRebalancesSurvivors(t *testing.T) {
	c, _ := newTestCoordinator(t)
	ctx := testCtx(t)
	a := joinReq(3, "g", "")
	ja := c.JoinGroup(ctx, a)
	wantCode(t, "sync a", c.SyncGroup(ctx, syncReq("g", ja.MemberID, ja.Generation, nil)).ErrorCode, nil)
	b := joinReq(3, "g", "")
	b.SessionTimeoutMillis = 100
	done := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { done <- c.JoinGroup(ctx, b) }()
	eventually(t, "rebalance", func() bool { return stateOf(t, c, "g") == "PreparingRebalance" })
	a.MemberID = ja.MemberID
	ja2 := c.JoinGroup(ctx, a)
	jb := <-done
	wantCode(t, "b join", jb.ErrorCode, nil)
	go c.SyncGroup(ctx, syncReq("g", jb.MemberID, jb.Generation, nil))
	wantCode(t, "a sync", c.SyncGroup(ctx, syncReq("g", ja2.MemberID, ja2.Generation, nil)).ErrorCode, nil)

	// a heartbeats, b goes silent: b expires and a is asked to rejoin.
	eventually(t, "b expired", func() bool {
		return c.Heartbeat(ctx, hbReq("g", ja2.MemberID, ja2.Generation)).ErrorCode == kerr.RebalanceInProgress.Code
	})
	ja3 := c.JoinGroup(ctx, a)
	wantCode(t, "a rejoin", ja3.ErrorCode, nil)
	if ja3.Generation != ja2.Generation+1 || len(ja3.Members) != 1 {
		t.Fatalf("generation %d, %d members", ja3.Generation, len(ja3.Members))
	}
}

func TestStoreFailureOnSyncRebalances(t *testing.T) {
	c, s := newTestCoordinator(t)
	ctx := testCtx(t)
	r := joinReq(3, "g", "")
	j := c.JoinGroup(ctx, r)
	wantCode(t, "join", j.ErrorCode, nil)
	s.setFail(errInjected)
	wantCode(t, "sync with failing store", c.SyncGroup(ctx, syncReq("g", j.MemberID, j.Generation, nil)).ErrorCode, kerr.CoordinatorNotAvailable)
	s.setFail(nil)
	// The group rebalanced (the only member is not waiting, so it must rejoin).
	r.MemberID = j.MemberID
	j2 := c.JoinGroup(ctx, r)
	wantCode(t, "rejoin", j2.ErrorCode, nil)
	if j2.Generation <= j.Generation {
		t.Fatalf("generation %d after failed sync, want > %d", j2.Generation, j.Generation)
	}
	wantCode(t, "sync", c.SyncGroup(ctx, syncReq("g", j2.MemberID, j2.Generation, nil)).ErrorCode, nil)
}

func TestMemberThatNeverSyncsIsRemoved(t *testing.T) {
	c, _ := newTestCoordinator(t)
	ctx := testCtx(t)
	r := joinReq(3, "g", "")
	r.RebalanceTimeoutMillis = 50
	j := c.JoinGroup(ctx, r)
	wantCode(t, "join", j.ErrorCode, nil)
	// The member heartbeats (so its session lives) but never sends SyncGroup.
	eventually(t, "removal after the rebalance timeout", func() bool {
		return c.Heartbeat(ctx, hbReq("g", j.MemberID, j.Generation)).ErrorCode == kerr.UnknownMemberID.Code
	})
	if st := stateOf(t, c, "g"); st != "Empty" {
		t.Fatalf("state %s, want Empty", st)
	}
}

func TestShorterSessionOnRejoinApplies(t *testing.T) {
	c, _ := newTestCoordinator(t)
	ctx := testCtx(t)
	r := joinReq(3, "g", "") // 30s session
	j := c.JoinGroup(ctx, r)
	wantCode(t, "sync", c.SyncGroup(ctx, syncReq("g", j.MemberID, j.Generation, nil)).ErrorCode, nil)
	r.MemberID = j.MemberID
	r.SessionTimeoutMillis = 100
	j2 := c.JoinGroup(ctx, r) // the leader rejoins: new generation with a 100ms session
	wantCode(t, "rejoin", j2.ErrorCode, nil)
	wantCode(t, "sync", c.SyncGroup(ctx, syncReq("g", j2.MemberID, j2.Generation, nil)).ErrorCode, nil)
	eventually(t, "expiry with the new session timeout", func() bool { return stateOf(t, c, "g") == "Empty" })
}
