package groups

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestJoinGroupValidation(t *testing.T) {
	c, _ := newTestCoordinator(t)
	stableSingle(t, c, "existing") // protocol type consumer, protocol range

	tests := []struct {
		name   string
		mutate func(r *kmsg.JoinGroupRequest)
		want   *kerr.Error
	}{
		{"empty group id", func(r *kmsg.JoinGroupRequest) { r.Group = "" }, kerr.InvalidGroupID},
		{"session below minimum", func(r *kmsg.JoinGroupRequest) { r.SessionTimeoutMillis = 0 }, kerr.InvalidSessionTimeout},
		{"session above maximum", func(r *kmsg.JoinGroupRequest) { r.SessionTimeoutMillis = 600001 }, kerr.InvalidSessionTimeout},
		{"empty protocol type", func(r *kmsg.JoinGroupRequest) { r.Group = "fresh"; r.ProtocolType = "" }, kerr.InconsistentGroupProtocol},
		{"no protocols", func(r *kmsg.JoinGroupRequest) { r.Group = "fresh"; r.Protocols = nil }, kerr.InconsistentGroupProtocol},
		{"other protocol type", func(r *kmsg.JoinGroupRequest) { r.Group = "existing"; r.ProtocolType = "connect" }, kerr.InconsistentGroupProtocol},
		{"no common protocol", func(r *kmsg.JoinGroupRequest) { r.Group = "existing"; r.Protocols = protos("sticky") }, kerr.InconsistentGroupProtocol},
		{"unknown member, unknown group", func(r *kmsg.JoinGroupRequest) { r.Group = "nope"; r.MemberID = "m-1" }, kerr.UnknownMemberID},
		{"unknown member, known group", func(r *kmsg.JoinGroupRequest) { r.Group = "existing"; r.MemberID = "m-1" }, kerr.UnknownMemberID},
		{"v4 new member", func(r *kmsg.JoinGroupRequest) { r.Group = "existing" }, kerr.MemberIDRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := joinReq(5, "g", "")
			tt.mutate(r)
			resp := c.JoinGroup(testCtx(t), r)
			wantCode(t, "join", resp.ErrorCode, tt.want)
			if resp.Version != r.Version {
				t.Fatalf("response version %d, want %d", resp.Version, r.Version)
			}
		})
	}
	// Failed first joins must not leave phantom groups behind.
	for _, g := range []string{"fresh", "nope"} {
		if st := stateOf(t, c, g); st != "Dead" {
			t.Fatalf("group %q state %s, want Dead (unknown)", g, st)
		}
	}
}

func TestJoinMemberIDRequired(t *testing.T) {
	c, _ := newTestCoordinator(t)
	ctx := testCtx(t)
	r := joinReq(4, "g", "")
	first := c.JoinGroup(ctx, r)
	wantCode(t, "first join", first.ErrorCode, kerr.MemberIDRequired)
	if first.MemberID == "" || first.Generation != -1 {
		t.Fatalf("first join: member %q generation %d", first.MemberID, first.Generation)
	}
	if got := stateOf(t, c, "g"); got != "Empty" {
		t.Fatalf("state after MEMBER_ID_REQUIRED: %s, want Empty", got)
	}
	r.MemberID = first.MemberID
	second := c.JoinGroup(ctx, r)
	wantCode(t, "second join", second.ErrorCode, nil)
	if second.MemberID != first.MemberID || second.LeaderID != first.MemberID || second.Generation != 1 {
		t.Fatalf("second join: member %q leader %q generation %d", second.MemberID, second.LeaderID, second.Generation)
	}
	if second.Protocol == nil || *second.Protocol != "range" || len(second.Members) != 1 {
		t.Fatalf("second join: protocol %v members %d", second.Protocol, len(second.Members))
	}
	if got := stateOf(t, c, "g"); got != "CompletingRebalance" {
		t.Fatalf("state after join: %s", got)
	}

	// Before v4 a new member joins at once.
	old := c.JoinGroup(ctx, joinReq(3, "g3", ""))
	wantCode(t, "v3 join", old.ErrorCode, nil)
	if old.MemberID == "" || old.Generation != 1 {
		t.Fatalf("v3 join: member %q generation %d", old.MemberID, old.Generation)
	}
}

func TestPendingMemberExpires(t *testing.T) {
	c, _ := newTestCoordinator(t)
	r := joinReq(4, "g", "")
	r.SessionTimeoutMillis = 50
	first := c.JoinGroup(testCtx(t), r)
	wantCode(t, "first join", first.ErrorCode, kerr.MemberIDRequired)
	eventually(t, "pending-only group to disappear", func() bool { return stateOf(t, c, "g") == "Dead" })
	r.MemberID = first.MemberID
	wantCode(t, "join with expired id", c.JoinGroup(testCtx(t), r).ErrorCode, kerr.UnknownMemberID)
}

func TestSelectProtocol(t *testing.T) {
	tests := []struct {
		name    string
		members [][]string
		want    string
	}{
		{"single", [][]string{{"range", "roundrobin"}}, "range"},
		{"majority vote", [][]string{{"range", "roundrobin"}, {"roundrobin", "range"}, {"roundrobin", "range"}}, "roundrobin"},
		{"only common", [][]string{{"range", "sticky"}, {"sticky"}}, "sticky"},
		{"tie goes to first member", [][]string{{"b", "a"}, {"a", "b"}}, "b"},
		{"none common", [][]string{{"a"}, {"b"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGroup("g")
			for i, ps := range tt.members {
				g.addMember(&member{id: string(rune('a' + i)), protocols: protos(ps...)}, "consumer")
			}
			if got := g.selectProtocol(); got != tt.want {
				t.Fatalf("selectProtocol = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestJoinChoosesCommonProtocol(t *testing.T) {
	c, _ := newTestCoordinator(t)
	ctx := testCtx(t)
	a := joinReq(3, "g", "")
	a.Protocols = protos("range", "roundrobin")
	ja := c.JoinGroup(ctx, a)
	wantCode(t, "join a", ja.ErrorCode, nil)
	wantCode(t, "sync a", c.SyncGroup(ctx, syncReq("g", ja.MemberID, ja.Generation, nil)).ErrorCode, nil)

	// b only speaks roundrobin: the next generation must use it.
	b := joinReq(3, "g", "")
	b.Protocols = protos("roundrobin")
	done := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { done <- c.JoinGroup(ctx, b) }()
	eventually(t, "rebalance", func() bool { return stateOf(t, c, "g") == "PreparingRebalance" })
	wantCode(t, "heartbeat a", c.Heartbeat(ctx, hbReq("g", ja.MemberID, ja.Generation)).ErrorCode, kerr.RebalanceInProgress)
	a.MemberID = ja.MemberID
	ja2 := c.JoinGroup(ctx, a)
	jb := <-done
	wantCode(t, "rejoin a", ja2.ErrorCode, nil)
	wantCode(t, "join b", jb.ErrorCode, nil)
	if *ja2.Protocol != "roundrobin" || *jb.Protocol != "roundrobin" || ja2.Generation != 2 || jb.Generation != 2 {
		t.Fatalf("protocols %q/%q generations %d/%d", *ja2.Protocol, *jb.Protocol, ja2.Generation, jb.Generation)
	}
	if ja2.LeaderID != ja.MemberID || len(ja2.Members) != 2 || len(jb.Members) != 0 {
		t.Fatalf("leader %q leader members %d follower members %d", ja2.LeaderID, len(ja2.Members), len(jb.Members))
	}
}

func TestInitialRebalanceDelayGathersMembers(t *testing.T) {
	cfg := testConfig()
	cfg.InitialRebalanceDelayMs = 200
	c := startCoordinator(t, cfg, newFakeStore())
	ctx := testCtx(t)
	results := make(chan *kmsg.JoinGroupResponse, 2)
	go func() { results <- c.JoinGroup(ctx, joinReq(3, "g", "")) }()
	eventually(t, "first member waiting", func() bool { return len(describe(t, c, "g").Members) == 1 })
	go func() { results <- c.JoinGroup(ctx, joinReq(3, "g", "")) }()
	r1, r2 := <-results, <-results
	wantCode(t, "join 1", r1.ErrorCode, nil)
	wantCode(t, "join 2", r2.ErrorCode, nil)
	if r1.Generation != 1 || r2.Generation != 1 {
		t.Fatalf("generations %d and %d, want both 1", r1.Generation, r2.Generation)
	}
}

func TestCloseReleasesWaitingJoin(t *testing.T) {
	s := newFakeStore()
	c := NewCoordinator(testConfig(), s, nil, nil)
	ctx := testCtx(t)
	a, _ := stableSingle(t, c, "g")
	done := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { done <- c.JoinGroup(ctx, joinReq(3, "g", "")) }() // a must rejoin: it never will
	eventually(t, "rebalance", func() bool { return stateOf(t, c, "g") == "PreparingRebalance" })
	c.Close()
	wantCode(t, "waiting join after close", (<-done).ErrorCode, kerr.NotCoordinator)
	wantCode(t, "heartbeat after close", c.Heartbeat(ctx, hbReq("g", a, 1)).ErrorCode, kerr.NotCoordinator)
}
