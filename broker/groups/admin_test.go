package groups

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestListGroups(t *testing.T) {
	c, _ := newTestCoordinator(t)
	ctx := testCtx(t)
	stableSingle(t, c, "b-stable")
	wantCode(t, "commit", commitCodes(c.OffsetCommit(ctx, commitReq(2, "a-commit", "", -1, "t", 1)))[0], nil)
	jc := c.JoinGroup(ctx, joinReq(3, "c-completing", ""))
	wantCode(t, "join", jc.ErrorCode, nil)

	tests := []struct {
		name    string
		version int16
		states  []string
		want    []string
	}{
		{"all", 3, nil, []string{"a-commit/Empty", "b-stable/Stable", "c-completing/CompletingRebalance"}},
		{"v4 filter", 4, []string{"stable", "Empty"}, []string{"a-commit/Empty", "b-stable/Stable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := kmsg.NewPtrListGroupsRequest()
			r.Version = tt.version
			r.StatesFilter = tt.states
			resp := c.ListGroups(ctx, r)
			wantCode(t, "list", resp.ErrorCode, nil)
			var got []string
			for _, g := range resp.Groups {
				got = append(got, g.Group+"/"+g.GroupState)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestDescribeGroups(t *testing.T) {
	c, _ := newTestCoordinator(t)
	ctx := WithClientInfo(testCtx(t), "my-client", "/10.0.0.1")
	r := joinReq(5, "g", "")
	first := c.JoinGroup(ctx, r)
	r.MemberID = first.MemberID
	j := c.JoinGroup(ctx, r)
	wantCode(t, "join", j.ErrorCode, nil)

	d := describe(t, c, "g")
	if d.State != "CompletingRebalance" || d.Protocol != "" || len(d.Members) != 1 || d.Members[0].ProtocolMetadata != nil {
		t.Fatalf("completing: %+v", d)
	}
	wantCode(t, "sync", c.SyncGroup(ctx, syncReq("g", j.MemberID, j.Generation, map[string]string{j.MemberID: "A"})).ErrorCode, nil)

	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Version = 4
	req.Groups = []string{"g", "unknown"}
	req.IncludeAuthorizedOperations = true
	resp := c.DescribeGroups(ctx, req)
	if len(resp.Groups) != 2 {
		t.Fatalf("%d groups", len(resp.Groups))
	}
	g, u := resp.Groups[0], resp.Groups[1]
	if g.State != "Stable" || g.ProtocolType != "consumer" || g.Protocol != "range" || g.AuthorizedOperations != -2147483648 {
		t.Fatalf("stable group %+v", g)
	}
	m := g.Members[0]
	if m.MemberID != j.MemberID || m.ClientID != "my-client" || m.ClientHost != "/10.0.0.1" ||
		string(m.MemberAssignment) != "A" || string(m.ProtocolMetadata) != string(consumerMeta("t")) {
		t.Fatalf("member %+v", m)
	}
	if len(m.MemberID) <= len("my-client-") || m.MemberID[:len("my-client-")] != "my-client-" {
		t.Fatalf("member id %q lacks the client id prefix", m.MemberID)
	}
	if u.State != "Dead" || u.ErrorCode != 0 || len(u.Members) != 0 {
		t.Fatalf("unknown group %+v", u)
	}
}

func TestDeleteGroups(t *testing.T) {
	c, s := newTestCoordinator(t)
	ctx := testCtx(t)
	stableSingle(t, c, "active")
	wantCode(t, "commit", commitCodes(c.OffsetCommit(ctx, commitReq(2, "idle", "", -1, "t", 1)))[0], nil)

	r := kmsg.NewPtrDeleteGroupsRequest()
	r.Version = 1
	r.Groups = []string{"active", "idle", "nope"}
	resp := c.DeleteGroups(ctx, r)
	want := []*kerr.Error{kerr.NonEmptyGroup, nil, kerr.GroupIDNotFound}
	for i, w := range want {
		wantCode(t, resp.Groups[i].Group, resp.Groups[i].ErrorCode, w)
	}
	if _, ok := s.FetchOffset("idle", "t", 0); ok {
		t.Fatal("offsets of deleted group kept")
	}
	if st := stateOf(t, c, "idle"); st != "Dead" {
		t.Fatalf("deleted group state %s", st)
	}
	// The name can be reused.
	wantCode(t, "commit again", commitCodes(c.OffsetCommit(ctx, commitReq(2, "idle", "", -1, "t", 1)))[0], nil)
	if st := stateOf(t, c, "idle"); st != "Empty" {
		t.Fatalf("recreated group state %s", st)
	}
}

func TestGroupCountAndMetrics(t *testing.T) {
	s := newFakeStore()
	reg := prometheus.NewRegistry()
	c := NewCoordinator(testConfig(), s, nil, reg)
	t.Cleanup(c.Close)
	ctx := testCtx(t)
	stableSingle(t, c, "a")
	stableSingle(t, c, "b")
	wantCode(t, "commit", commitCodes(c.OffsetCommit(ctx, commitReq(2, "c", "", -1, "t", 1)))[0], nil)

	counts := c.GroupCount()
	if counts["Stable"] != 2 || counts["Empty"] != 1 || counts["PreparingRebalance"] != 0 || counts["CompletingRebalance"] != 0 {
		t.Fatalf("GroupCount %v", counts)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "/" + l.GetValue()
			}
			if m.Gauge != nil {
				got[key] = m.GetGauge().GetValue()
			}
			if m.Counter != nil {
				got[key] = m.GetCounter().GetValue()
			}
		}
	}
	if got["chronik_groups/Stable"] != 2 || got["chronik_groups/Empty"] != 1 || got["chronik_group_rebalances_total"] != 2 {
		t.Fatalf("metrics %v", got)
	}
	// A second coordinator on the same registry must not panic.
	NewCoordinator(testConfig(), newFakeStore(), nil, reg).Close()
}

func deleteGroupsReq(groups ...string) *kmsg.DeleteGroupsRequest {
	r := kmsg.NewPtrDeleteGroupsRequest()
	r.Version = 1
	r.Groups = groups
	return r
}
