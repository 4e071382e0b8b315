package groups

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func commitReq(version int16, group, member string, gen int32, topic string, offsets ...int64) *kmsg.OffsetCommitRequest {
	r := kmsg.NewPtrOffsetCommitRequest()
	r.Version = version
	r.Group = group
	r.MemberID = member
	r.Generation = gen
	t := kmsg.NewOffsetCommitRequestTopic()
	t.Topic = topic
	for i, o := range offsets {
		p := kmsg.NewOffsetCommitRequestTopicPartition()
		p.Partition = int32(i)
		p.Offset = o
		p.LeaderEpoch = 7
		p.Metadata = kmsg.StringPtr("md")
		t.Partitions = append(t.Partitions, p)
	}
	r.Topics = append(r.Topics, t)
	return r
}

func commitCodes(resp *kmsg.OffsetCommitResponse) []int16 {
	var out []int16
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out = append(out, p.ErrorCode)
		}
	}
	return out
}

func TestOffsetCommit(t *testing.T) {
	s := newFakeStore()
	cfg := testConfig()
	cfg.TopicExists = func(topic string, partition int32) bool { return topic != "missing" && partition < 2 }
	c := startCoordinator(t, cfg, s)
	ctx := testCtx(t)
	m, gen := stableSingle(t, c, "stable")

	// "completing": joined, not yet synced.
	jc := c.JoinGroup(ctx, joinReq(3, "completing", ""))
	wantCode(t, "join", jc.ErrorCode, nil)

	tests := []struct {
		name string
		req  *kmsg.OffsetCommitRequest
		want []*kerr.Error
	}{
		{"simple commit, unknown group", commitReq(2, "simple", "", -1, "t", 10, 11), []*kerr.Error{nil, nil}},
		{"v0 commit", commitReq(0, "v0", "ignored", 5, "t", 3), []*kerr.Error{nil}},
		{"member commit", commitReq(7, "stable", m, gen, "t", 20, 21), []*kerr.Error{nil, nil}},
		{"unknown partition", commitReq(7, "stable", m, gen, "t", 1, 2, 3), []*kerr.Error{nil, nil, kerr.UnknownTopicOrPartition}},
		{"unknown topic", commitReq(7, "stable", m, gen, "missing", 1), []*kerr.Error{kerr.UnknownTopicOrPartition}},
		{"empty group id", commitReq(7, "", "", -1, "t", 1), []*kerr.Error{kerr.InvalidGroupID}},
		{"wrong generation", commitReq(7, "stable", m, gen+1, "t", 1), []*kerr.Error{kerr.IllegalGeneration}},
		{"unknown member", commitReq(7, "stable", "m-x", gen, "t", 1), []*kerr.Error{kerr.UnknownMemberID}},
		{"simple commit to active group", commitReq(7, "stable", "", -1, "t", 1), []*kerr.Error{kerr.UnknownMemberID}},
		{"member commit, unknown group", commitReq(7, "nope", "m", 1, "t", 1), []*kerr.Error{kerr.IllegalGeneration}},
		{"completing rebalance", commitReq(7, "completing", jc.MemberID, jc.Generation, "t", 1), []*kerr.Error{kerr.RebalanceInProgress}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := c.OffsetCommit(ctx, tt.req)
			if resp.Version != tt.req.Version {
				t.Fatalf("response version %d", resp.Version)
			}
			got := commitCodes(resp)
			if len(got) != len(tt.want) {
				t.Fatalf("%d partition answers, want %d", len(got), len(tt.want))
			}
			for i := range got {
				wantCode(t, "partition", got[i], tt.want[i])
			}
		})
	}

	big := commitReq(7, "stable", m, gen, "t", 1)
	big.Topics[0].Partitions[0].Metadata = kmsg.StringPtr(strings.Repeat("x", 4097))
	wantCode(t, "metadata too large", commitCodes(c.OffsetCommit(ctx, big))[0], kerr.OffsetMetadataTooLarge)

	if o, ok := s.FetchOffset("stable", "t", 1); !ok || o.Offset != 2 || o.LeaderEpoch != 7 || o.Metadata != "md" || o.CommitTimeMs == 0 {
		t.Fatalf("stored offset %+v ok=%v", o, ok)
	}
	if o, _ := s.FetchOffset("simple", "t", 0); o.LeaderEpoch != -1 {
		t.Fatalf("v2 commit stored leader epoch %d, want -1", o.LeaderEpoch)
	}
	if _, ok := s.FetchOffset("nope", "t", 0); ok {
		t.Fatal("rejected commit was stored")
	}
	if st := stateOf(t, c, "nope"); st != "Dead" {
		t.Fatalf("rejected commit created group %q (state %s)", "nope", st)
	}

	s.setFail(errInjected)
	wantCode(t, "store failure", commitCodes(c.OffsetCommit(ctx, commitReq(7, "stable", m, gen, "t", 1)))[0], kerr.CoordinatorNotAvailable)
	s.setFail(nil)
}

func TestCommitOnlyGroupIsListed(t *testing.T) {
	c, _ := newTestCoordinator(t)
	ctx := testCtx(t)
	wantCode(t, "commit", commitCodes(c.OffsetCommit(ctx, commitReq(2, "kcat", "", -1, "t", 5)))[0], nil)

	lr := kmsg.NewPtrListGroupsRequest()
	lr.Version = 3
	groups := c.ListGroups(ctx, lr).Groups
	if len(groups) != 1 || groups[0].Group != "kcat" || groups[0].ProtocolType != "" || groups[0].GroupState != "Empty" {
		t.Fatalf("ListGroups %+v", groups)
	}
	d := describe(t, c, "kcat")
	if d.State != "Empty" || d.ProtocolType != "" || len(d.Members) != 0 || d.ErrorCode != 0 {
		t.Fatalf("DescribeGroups %+v", d)
	}
	// A consumer can still join it later.
	m, _ := stableSingle(t, c, "kcat")
	if m == "" || stateOf(t, c, "kcat") != "Stable" {
		t.Fatal("commit-only group did not accept a member")
	}
}

func fetchReq(version int16, group string, topics map[string][]int32) *kmsg.OffsetFetchRequest {
	r := kmsg.NewPtrOffsetFetchRequest()
	r.Version = version
	r.Group = group
	if topics == nil {
		return r
	}
	r.Topics = []kmsg.OffsetFetchRequestTopic{}
	for t, ps := range topics {
		r.Topics = append(r.Topics, kmsg.OffsetFetchRequestTopic{Topic: t, Partitions: ps})
	}
	return r
}

func TestOffsetFetch(t *testing.T) {
	c, _ := newTestCoordinator(t)
	ctx := testCtx(t)
	wantCode(t, "commit a", commitCodes(c.OffsetCommit(ctx, commitReq(7, "g", "", -1, "a", 10, 11)))[0], nil)
	wantCode(t, "commit b", commitCodes(c.OffsetCommit(ctx, commitReq(7, "g", "", -1, "b", 20)))[0], nil)

	type po struct {
		topic     string
		partition int32
		offset    int64
		epoch     int32
	}
	flatten := func(resp *kmsg.OffsetFetchResponse) []po {
		var out []po
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 || p.Metadata == nil {
					return nil
				}
				out = append(out, po{t.Topic, p.Partition, p.Offset, p.LeaderEpoch})
			}
		}
		return out
	}
	tests := []struct {
		name string
		req  *kmsg.OffsetFetchRequest
		want []po
	}{
		{"listed partitions", fetchReq(5, "g", map[string][]int32{"a": {1, 5}}), []po{{"a", 1, 11, 7}, {"a", 5, -1, -1}}},
		{"v1", fetchReq(1, "g", map[string][]int32{"b": {0}}), []po{{"b", 0, 20, 7}}},
		{"all topics", fetchReq(7, "g", nil), []po{{"a", 0, 10, 7}, {"a", 1, 11, 7}, {"b", 0, 20, 7}}},
		{"unknown group", fetchReq(3, "none", map[string][]int32{"a": {0}}), []po{{"a", 0, -1, -1}}},
		{"unknown group, all topics", fetchReq(3, "none", nil), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := c.OffsetFetch(ctx, tt.req)
			wantCode(t, "group", resp.ErrorCode, nil)
			got := flatten(resp)
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
			}
		})
	}
}

func deleteOffsetsReq(group string, topics ...string) *kmsg.OffsetDeleteRequest {
	r := kmsg.NewPtrOffsetDeleteRequest()
	r.Group = group
	for _, t := range topics {
		r.Topics = append(r.Topics, kmsg.OffsetDeleteRequestTopic{Topic: t, Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}})
	}
	return r
}

func TestOffsetDelete(t *testing.T) {
	c, s := newTestCoordinator(t)
	ctx := testCtx(t)
	// Stable consumer group subscribed to "t" (see protos) with offsets for t and u.
	m, gen := stableSingle(t, c, "active")
	for _, topic := range []string{"t", "u"} {
		wantCode(t, "commit", commitCodes(c.OffsetCommit(ctx, commitReq(7, "active", m, gen, topic, 1)))[0], nil)
	}
	wantCode(t, "commit", commitCodes(c.OffsetCommit(ctx, commitReq(7, "idle", "", -1, "t", 1)))[0], nil)
	// A non-consumer protocol group.
	other := joinReq(3, "connect", "")
	other.ProtocolType = "connect"
	jo := c.JoinGroup(ctx, other)
	wantCode(t, "connect join", jo.ErrorCode, nil)

	resp := c.OffsetDelete(ctx, deleteOffsetsReq("active", "t", "u"))
	wantCode(t, "active top", resp.ErrorCode, nil)
	wantCode(t, "subscribed topic", resp.Topics[0].Partitions[0].ErrorCode, kerr.GroupSubscribedToTopic)
	wantCode(t, "unsubscribed topic", resp.Topics[1].Partitions[0].ErrorCode, nil)
	if _, ok := s.FetchOffset("active", "t", 0); !ok {
		t.Fatal("subscribed offset was deleted")
	}
	if _, ok := s.FetchOffset("active", "u", 0); ok {
		t.Fatal("unsubscribed offset was kept")
	}

	resp = c.OffsetDelete(ctx, deleteOffsetsReq("idle", "t"))
	wantCode(t, "idle", resp.ErrorCode, nil)
	wantCode(t, "idle partition", resp.Topics[0].Partitions[0].ErrorCode, nil)
	if _, ok := s.FetchOffset("idle", "t", 0); ok {
		t.Fatal("offset of empty group was kept")
	}
	wantCode(t, "non-consumer group", c.OffsetDelete(ctx, deleteOffsetsReq("connect", "t")).ErrorCode, kerr.NonEmptyGroup)
	wantCode(t, "unknown group", c.OffsetDelete(ctx, deleteOffsetsReq("nope", "t")).ErrorCode, kerr.GroupIDNotFound)
	wantCode(t, "empty group id", c.OffsetDelete(ctx, deleteOffsetsReq("", "t")).ErrorCode, kerr.InvalidGroupID)
}
