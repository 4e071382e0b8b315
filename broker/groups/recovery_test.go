package groups

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-stream/chronik/broker/meta"
)

func TestRecoveryFromStoredRecords(t *testing.T) {
	s := newFakeStore()
	ctx := testCtx(t)
	must(t, s.PutGroup(ctx, meta.GroupRecord{
		Name: "g", ProtocolType: "consumer", Protocol: "range", Leader: "m-2", Generation: 7,
		Members: []meta.GroupMemberRecord{
			{MemberID: "m-1", ClientID: "c1", SessionTimeoutMs: longSession, RebalanceTimeoutMs: 100, ProtocolMetadata: consumerMeta("t"), Assignment: []byte("A")},
			{MemberID: "m-2", InstanceID: "i-2", ClientID: "c2", SessionTimeoutMs: 100, RebalanceTimeoutMs: 100, ProtocolMetadata: consumerMeta("t"), Assignment: []byte("B")},
		},
	}))
	must(t, s.PutGroup(ctx, meta.GroupRecord{Name: "empty", ProtocolType: "consumer", Generation: 3}))
	must(t, s.CommitOffsets(ctx, "commit-only", []meta.OffsetCommit{{Topic: "t", Partition: 0, Offset: 9}}))

	c := startCoordinator(t, testConfig(), s)
	d := describe(t, c, "g")
	if d.State != "Stable" || d.Protocol != "range" || len(d.Members) != 2 || string(d.Members[1].MemberAssignment) != "B" ||
		d.Members[1].InstanceID == nil || *d.Members[1].InstanceID != "i-2" {
		t.Fatalf("recovered group %+v", d)
	}
	if st := stateOf(t, c, "empty"); st != "Empty" {
		t.Fatalf("recovered empty group state %s", st)
	}
	if d := describe(t, c, "commit-only"); d.State != "Empty" || d.ProtocolType != "" {
		t.Fatalf("recovered commit-only group %+v", d)
	}
	wantCode(t, "heartbeat at recovered generation", c.Heartbeat(ctx, hbReq("g", "m-1", 7)).ErrorCode, nil)
	sr := c.SyncGroup(ctx, syncReq("g", "m-1", 7, nil))
	if sr.ErrorCode != 0 || string(sr.MemberAssignment) != "A" {
		t.Fatalf("sync after recovery: %s %q", errName(sr.ErrorCode), sr.MemberAssignment)
	}

	// m-2 (100ms session) is gone: it expires, m-1 is asked to rejoin and forms generation 8.
	eventually(t, "m-2 expiry", func() bool {
		return c.Heartbeat(ctx, hbReq("g", "m-1", 7)).ErrorCode == kerr.RebalanceInProgress.Code
	})
	j := c.JoinGroup(ctx, joinReq(5, "g", "m-1"))
	wantCode(t, "rejoin", j.ErrorCode, nil)
	if j.Generation != 8 || j.LeaderID != "m-1" || len(j.Members) != 1 {
		t.Fatalf("rejoin: generation %d leader %q members %d", j.Generation, j.LeaderID, len(j.Members))
	}
}

func TestRestartKeepsGroup(t *testing.T) {
	s := newFakeStore()
	ctx := testCtx(t)
	c1 := NewCoordinator(testConfig(), s, nil, nil)
	m, gen := stableSingle(t, c1, "g")
	wantCode(t, "commit", commitCodes(c1.OffsetCommit(ctx, commitReq(7, "g", m, gen, "t", 42)))[0], nil)
	c1.Close()

	c2 := startCoordinator(t, testConfig(), s)
	if d := describe(t, c2, "g"); d.State != "Stable" || len(d.Members) != 1 || d.Members[0].MemberID != m {
		t.Fatalf("after restart %+v", d)
	}
	wantCode(t, "heartbeat", c2.Heartbeat(ctx, hbReq("g", m, gen)).ErrorCode, nil)
	wantCode(t, "commit", commitCodes(c2.OffsetCommit(ctx, commitReq(7, "g", m, gen, "t", 43)))[0], nil)
	f := c2.OffsetFetch(ctx, fetchReq(7, "g", map[string][]int32{"t": {0}}))
	if f.Topics[0].Partitions[0].Offset != 43 {
		t.Fatalf("offset %d after restart", f.Topics[0].Partitions[0].Offset)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
