package groups

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// testConsumer runs the classic consumer protocol loop against a coordinator: join (with the
// MEMBER_ID_REQUIRED round trip), sync (the leader assigns "to:<member>" to everyone),
// heartbeat until told to rebalance, repeat. Cancelling its context makes it leave.
type testConsumer struct {
	c     *Coordinator
	group string

	mu         sync.Mutex
	memberID   string
	generation int32
	assignment string
	err        error
}

func (tc *testConsumer) state() (string, int32, string) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.memberID, tc.generation, tc.assignment
}

func (tc *testConsumer) run(ctx context.Context) {
	bg := context.Background()
	defer func() {
		id, _, _ := tc.state()
		r := kmsg.NewPtrLeaveGroupRequest()
		r.Version = 3
		r.Group = tc.group
		r.Members = []kmsg.LeaveGroupRequestMember{{MemberID: id}}
		tc.c.LeaveGroup(bg, r)
	}()
	for ctx.Err() == nil {
		id, _, _ := tc.state()
		jr := joinReq(5, tc.group, id)
		j := tc.c.JoinGroup(ctx, jr)
		switch j.ErrorCode {
		case 0:
		case kerr.MemberIDRequired.Code:
			tc.mu.Lock()
			tc.memberID = j.MemberID
			tc.mu.Unlock()
			continue
		case kerr.UnknownMemberID.Code:
			tc.mu.Lock()
			tc.memberID = ""
			tc.mu.Unlock()
			continue
		default:
			if ctx.Err() == nil {
				tc.fail(fmt.Errorf("join: %s", errName(j.ErrorCode)))
			}
			return
		}
		var assign map[string]string
		if j.LeaderID == j.MemberID {
			assign = make(map[string]string)
			for _, m := range j.Members {
				assign[m.MemberID] = "to:" + m.MemberID
			}
		}
		s := tc.c.SyncGroup(ctx, syncReq(tc.group, j.MemberID, j.Generation, assign))
		if s.ErrorCode == kerr.RebalanceInProgress.Code {
			continue
		}
		if s.ErrorCode != 0 {
			if ctx.Err() == nil {
				tc.fail(fmt.Errorf("sync: %s", errName(s.ErrorCode)))
			}
			return
		}
		tc.mu.Lock()
		tc.generation, tc.assignment = j.Generation, string(s.MemberAssignment)
		tc.mu.Unlock()
		for ctx.Err() == nil {
			code := tc.c.Heartbeat(ctx, hbReq(tc.group, j.MemberID, j.Generation)).ErrorCode
			if code == kerr.RebalanceInProgress.Code {
				break
			}
			if code != 0 {
				tc.fail(fmt.Errorf("heartbeat: %s", errName(code)))
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond): // heartbeat interval, not a synchronisation
			}
		}
	}
}

func (tc *testConsumer) fail(err error) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.err = err
}

// converged reports whether the group is Stable with exactly the given consumers, all of
// them synced to the group's generation with their own assignment.
func converged(t *testing.T, c *Coordinator, group string, tcs []*testConsumer) (int32, bool) {
	d := describe(t, c, group)
	if d.State != "Stable" || len(d.Members) != len(tcs) {
		return 0, false
	}
	var gen int32 = -1
	for _, tc := range tcs {
		id, g, a := tc.state()
		if a != "to:"+id || (gen != -1 && g != gen) {
			return 0, false
		}
		gen = g
	}
	var described, running []string
	for _, m := range d.Members {
		described = append(described, m.MemberID)
		if string(m.MemberAssignment) != "to:"+m.MemberID {
			return 0, false
		}
	}
	for _, tc := range tcs {
		id, _, _ := tc.state()
		running = append(running, id)
	}
	sort.Strings(described)
	sort.Strings(running)
	return gen, fmt.Sprint(described) == fmt.Sprint(running)
}

func TestConcurrentRebalance(t *testing.T) {
	c, s := newTestCoordinator(t)
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	tcs := make([]*testConsumer, 3)
	cancels := make([]context.CancelFunc, 3)
	for i := range tcs {
		tcs[i] = &testConsumer{c: c, group: "g"}
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		t.Cleanup(cancel)
		wg.Add(1)
		go func() {
			defer wg.Done()
			tcs[i].run(ctx)
		}()
	}
	var gen1 int32
	eventually(t, "three members stable", func() bool {
		var ok bool
		gen1, ok = converged(t, c, "g", tcs)
		return ok
	})
	rec, ok := s.group("g")
	if !ok || rec.Generation != gen1 || len(rec.Members) != 3 || rec.Protocol != "range" || rec.ProtocolType != "consumer" {
		t.Fatalf("stored record %+v, want generation %d with 3 members", rec, gen1)
	}
	for _, m := range rec.Members {
		if string(m.Assignment) != "to:"+m.MemberID || m.SessionTimeoutMs != longSession {
			t.Fatalf("stored member %+v", m)
		}
	}

	// One consumer leaves: the other two rebalance into a new generation.
	cancels[2]()
	eventually(t, "two members stable", func() bool {
		gen2, ok := converged(t, c, "g", tcs[:2])
		return ok && gen2 > gen1
	})
	for _, tc := range tcs {
		tc.mu.Lock()
		err := tc.err
		tc.mu.Unlock()
		if err != nil {
			t.Fatalf("consumer: %v", err)
		}
	}
	if rec, _ := s.group("g"); len(rec.Members) != 2 {
		t.Fatalf("stored %d members after leave, want 2", len(rec.Members))
	}
}

func TestStaticMemberRejoin(t *testing.T) {
	c, s := newTestCoordinator(t)
	ctx := testCtx(t)
	inst := "instance-a"
	ra := joinReq(5, "g", "")
	ra.InstanceID = &inst
	ja := c.JoinGroup(ctx, ra) // static members skip MEMBER_ID_REQUIRED
	wantCode(t, "static join", ja.ErrorCode, nil)
	// b joins (MEMBER_ID_REQUIRED first), which starts a rebalance; a rejoins with its id.
	rb := joinReq(5, "g", "")
	bDone := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { bDone <- joinNew(t, c, rb) }()
	eventually(t, "rebalance", func() bool { return stateOf(t, c, "g") == "PreparingRebalance" })
	ra.MemberID = ja.MemberID
	ja2 := c.JoinGroup(ctx, ra)
	jb := <-bDone
	wantCode(t, "b join", jb.ErrorCode, nil)
	wantCode(t, "a rejoin", ja2.ErrorCode, nil)
	if ja2.LeaderID != ja.MemberID {
		t.Fatalf("leader %q, want %q", ja2.LeaderID, ja.MemberID)
	}
	var instSeen bool
	for _, m := range ja2.Members {
		if m.InstanceID != nil && *m.InstanceID == inst {
			instSeen = true
		}
	}
	if !instSeen {
		t.Fatal("leader's member list lacks the instance id")
	}
	assign := map[string]string{ja.MemberID: "A", jb.MemberID: "B"}
	go c.SyncGroup(ctx, syncReq("g", jb.MemberID, ja2.Generation, nil))
	wantCode(t, "leader sync", c.SyncGroup(ctx, syncReq("g", ja.MemberID, ja2.Generation, assign)).ErrorCode, nil)
	gen := ja2.Generation

	// The static member restarts: unknown member id, same instance id and protocols.
	restart := joinReq(5, "g", "")
	restart.InstanceID = &inst
	jr := c.JoinGroup(ctx, restart)
	wantCode(t, "restart join", jr.ErrorCode, nil)
	if jr.MemberID == ja.MemberID || jr.Generation != gen || jr.LeaderID != ja.MemberID || len(jr.Members) != 0 {
		t.Fatalf("restart: member %q generation %d leader %q members %d", jr.MemberID, jr.Generation, jr.LeaderID, len(jr.Members))
	}
	if st := stateOf(t, c, "g"); st != "Stable" {
		t.Fatalf("state %s after static rejoin, want Stable (no rebalance)", st)
	}
	sr := c.SyncGroup(ctx, syncReq("g", jr.MemberID, gen, nil))
	wantCode(t, "restart sync", sr.ErrorCode, nil)
	if string(sr.MemberAssignment) != "A" {
		t.Fatalf("assignment %q after static rejoin, want A", sr.MemberAssignment)
	}
	old := hbReq("g", ja.MemberID, gen)
	old.InstanceID = &inst
	wantCode(t, "old member heartbeat", c.Heartbeat(ctx, old).ErrorCode, kerr.FencedInstanceID)
	wantCode(t, "b heartbeat", c.Heartbeat(ctx, hbReq("g", jb.MemberID, gen)).ErrorCode, nil)
	rec, _ := s.group("g")
	var found bool
	for _, m := range rec.Members {
		found = found || (m.MemberID == jr.MemberID && m.InstanceID == inst)
	}
	if !found || rec.Leader != jr.MemberID {
		t.Fatalf("stored record %+v lacks the replaced static member as leader", rec)
	}

	// Rejoining with different protocols forces a rebalance.
	changed := joinReq(5, "g", "")
	changed.InstanceID = &inst
	changed.Protocols = protos("range", "roundrobin")
	res := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { res <- c.JoinGroup(ctx, changed) }()
	eventually(t, "rebalance", func() bool {
		return c.Heartbeat(ctx, hbReq("g", jb.MemberID, gen)).ErrorCode == kerr.RebalanceInProgress.Code
	})
	rb.MemberID = jb.MemberID
	jb2 := c.JoinGroup(ctx, rb)
	jc := <-res
	wantCode(t, "changed join", jc.ErrorCode, nil)
	wantCode(t, "b rejoin", jb2.ErrorCode, nil)
	if jc.Generation != gen+1 || jb2.Generation != gen+1 {
		t.Fatalf("generations %d/%d, want %d", jc.Generation, jb2.Generation, gen+1)
	}
}

func TestStaticMemberFencedWhileWaiting(t *testing.T) {
	c, _ := newTestCoordinator(t)
	ctx := testCtx(t)
	inst := "i"
	a, _ := stableSingle(t, c, "g")
	// A static member joins and waits for a rebalance a never completes...
	r := joinReq(5, "g", "")
	r.InstanceID = &inst
	first := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { first <- c.JoinGroup(ctx, r) }()
	eventually(t, "static member waiting", func() bool { return len(describe(t, c, "g").Members) == 2 })
	// ...and a second process with the same instance id takes over: the first is fenced.
	second := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { second <- c.JoinGroup(ctx, joinReqWithInstance(inst)) }()
	wantCode(t, "first static join", (<-first).ErrorCode, kerr.FencedInstanceID)
	ra := joinReq(5, "g", a)
	wantCode(t, "a rejoin", c.JoinGroup(ctx, ra).ErrorCode, nil)
	j2 := <-second
	wantCode(t, "second static join", j2.ErrorCode, nil)
	if len(describe(t, c, "g").Members) != 2 {
		t.Fatal("want 2 members")
	}
}

func joinReqWithInstance(inst string) *kmsg.JoinGroupRequest {
	r := joinReq(5, "g", "")
	r.InstanceID = &inst
	return r
}
