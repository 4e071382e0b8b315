package groups

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	longSession   = 30000 // ms; sessions that must not expire during a test
	longRebalance = 30000
)

func testConfig() Config {
	return Config{MinSessionTimeoutMs: 1, MaxSessionTimeoutMs: 600000}
}

// startCoordinator creates a coordinator over store and runs it until the test ends.
func startCoordinator(t *testing.T, cfg Config, store Store) *Coordinator {
	t.Helper()
	c := NewCoordinator(cfg, store, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.Run(ctx)
	}()
	t.Cleanup(func() {
		c.Close()
		cancel()
		wg.Wait()
	})
	return c
}

func newTestCoordinator(t *testing.T) (*Coordinator, *fakeStore) {
	t.Helper()
	s := newFakeStore()
	return startCoordinator(t, testConfig(), s), s
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return WithClientInfo(ctx, "client", "/127.0.0.1")
}

// consumerMeta encodes consumer-protocol subscription metadata.
func consumerMeta(topics ...string) []byte {
	m := kmsg.NewConsumerMemberMetadata()
	m.Topics = topics
	return m.AppendTo(nil)
}

// protos builds a protocol list; each protocol subscribes to topic "t".
func protos(names ...string) []kmsg.JoinGroupRequestProtocol {
	out := make([]kmsg.JoinGroupRequestProtocol, len(names))
	for i, n := range names {
		out[i] = kmsg.JoinGroupRequestProtocol{Name: n, Metadata: consumerMeta("t")}
	}
	return out
}

func joinReq(version int16, group, memberID string) *kmsg.JoinGroupRequest {
	r := kmsg.NewPtrJoinGroupRequest()
	r.Version = version
	r.Group = group
	r.MemberID = memberID
	r.SessionTimeoutMillis = longSession
	r.RebalanceTimeoutMillis = longRebalance
	r.ProtocolType = "consumer"
	r.Protocols = protos("range")
	return r
}

func syncReq(group, memberID string, gen int32, assign map[string]string) *kmsg.SyncGroupRequest {
	r := kmsg.NewPtrSyncGroupRequest()
	r.Version = 3
	r.Group = group
	r.MemberID = memberID
	r.Generation = gen
	for id, a := range assign {
		r.GroupAssignment = append(r.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{MemberID: id, MemberAssignment: []byte(a)})
	}
	return r
}

func hbReq(group, memberID string, gen int32) *kmsg.HeartbeatRequest {
	r := kmsg.NewPtrHeartbeatRequest()
	r.Version = 3
	r.Group = group
	r.MemberID = memberID
	r.Generation = gen
	return r
}

// joinNew joins group as a new v4 member (MEMBER_ID_REQUIRED round trip) and returns the
// final JoinGroup answer.
func joinNew(t *testing.T, c *Coordinator, r *kmsg.JoinGroupRequest) *kmsg.JoinGroupResponse {
	t.Helper()
	ctx := testCtx(t)
	resp := c.JoinGroup(ctx, r)
	if resp.ErrorCode == kerr.MemberIDRequired.Code {
		r.MemberID = resp.MemberID
		resp = c.JoinGroup(ctx, r)
	}
	return resp
}

// stableSingle forms group with one member and returns its member id and generation.
func stableSingle(t *testing.T, c *Coordinator, group string) (string, int32) {
	t.Helper()
	j := joinNew(t, c, joinReq(5, group, ""))
	if j.ErrorCode != 0 {
		t.Fatalf("join: %v", kerr.ErrorForCode(j.ErrorCode))
	}
	s := c.SyncGroup(testCtx(t), syncReq(group, j.MemberID, j.Generation, map[string]string{j.MemberID: "a0"}))
	if s.ErrorCode != 0 {
		t.Fatalf("sync: %v", kerr.ErrorForCode(s.ErrorCode))
	}
	return j.MemberID, j.Generation
}

func describe(t *testing.T, c *Coordinator, group string) kmsg.DescribeGroupsResponseGroup {
	t.Helper()
	r := kmsg.NewPtrDescribeGroupsRequest()
	r.Version = 4
	r.Groups = []string{group}
	return c.DescribeGroups(testCtx(t), r).Groups[0]
}

func stateOf(t *testing.T, c *Coordinator, group string) string {
	t.Helper()
	return describe(t, c, group).State
}

// eventually polls cond until it holds or the test deadline nears.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func errName(code int16) string {
	if code == 0 {
		return "NONE"
	}
	return kerr.ErrorForCode(code).Error()
}

func wantCode(t *testing.T, what string, got int16, want *kerr.Error) {
	t.Helper()
	var w int16
	if want != nil {
		w = want.Code
	}
	if got != w {
		t.Fatalf("%s: got %s, want %s", what, errName(got), errName(w))
	}
}
