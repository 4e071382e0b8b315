package console

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/chronik-stream/chronik/api/consolepb"
	"github.com/chronik-stream/chronik/broker/mirror"
)

// fakeMirrors records what the console asks of the mirror manager.
type fakeMirrors struct {
	mu      sync.Mutex
	started []string
	stopped []string
	status  []mirror.Status
	fail    error
}

func (f *fakeMirrors) Start(_ context.Context, source, re string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return "", f.fail
	}
	f.started = append(f.started, source+" "+re)
	id := fmt.Sprintf("mirror-%d", len(f.started))
	f.status = append(f.status, mirror.Status{ID: id, Source: source, TopicRegex: re, State: "running", Lag: 5, Records: 10,
		Partitions: []mirror.PartitionStatus{{Topic: "orders", Partition: 0, SourceHighWatermark: 15, NextSourceOffset: 10, NextDestOffset: 10, Lag: 5}}})
	return id, nil
}

func (f *fakeMirrors) Stop(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.status {
		if f.status[i].ID == id {
			f.status[i].State = "stopped"
			f.stopped = append(f.stopped, id)
			return nil
		}
	}
	return fmt.Errorf("mirror %q: %w", id, mirror.ErrUnknownMirror)
}

func (f *fakeMirrors) Status() []mirror.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]mirror.Status(nil), f.status...)
}

func TestMirrorRPCs(t *testing.T) {
	fm := &fakeMirrors{}
	_, c := testServer(t, Config{Source: newFakeSource(t), Mirrors: fm})
	ctx := admin(testCtx(t))
	for _, tt := range []struct {
		req  *consolepb.MirrorStartRequest
		code codes.Code
		msg  string
	}{
		{&consolepb.MirrorStartRequest{}, codes.InvalidArgument, "bootstrap servers"},
		{&consolepb.MirrorStartRequest{SourceBootstrap: "blue:9092", TopicRegex: "("}, codes.InvalidArgument, "topic regex"},
		{&consolepb.MirrorStartRequest{SourceBootstrap: "blue:9092", TopicRegex: "orders.*"}, codes.OK, ""},
	} {
		resp, err := c.MirrorStart(ctx, tt.req)
		if status.Code(err) != tt.code || (tt.msg != "" && !strings.Contains(err.Error(), tt.msg)) {
			t.Fatalf("MirrorStart(%v) = %v, want %v %q", tt.req, err, tt.code, tt.msg)
		}
		if err == nil && resp.GetMirrorId() != "mirror-1" {
			t.Fatalf("mirror id %q", resp.GetMirrorId())
		}
	}
	fm.fail = errors.New("source unreachable")
	if _, err := c.MirrorStart(ctx, &consolepb.MirrorStartRequest{SourceBootstrap: "nowhere:9092"}); status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(err.Error(), "source unreachable") {
		t.Fatalf("MirrorStart failing = %v", err)
	}
	st, err := c.MirrorStatus(ctx, &consolepb.MirrorStatusRequest{})
	if err != nil || len(st.GetMirrors()) != 1 {
		t.Fatalf("MirrorStatus = %v, %v", st, err)
	}
	m := st.GetMirrors()[0]
	if m.GetSourceBootstrap() != "blue:9092" || m.GetLag() != 5 || m.GetRecords() != 10 || len(m.GetPartitions()) != 1 ||
		m.GetPartitions()[0].GetSourceHighWatermark() != 15 {
		t.Fatalf("mirror state %v", m)
	}
	if _, err := c.MirrorStop(ctx, &consolepb.MirrorStopRequest{MirrorId: "mirror-9"}); status.Code(err) != codes.NotFound {
		t.Fatalf("MirrorStop unknown = %v", err)
	}
	if _, err := c.MirrorStop(ctx, &consolepb.MirrorStopRequest{MirrorId: "mirror-1"}); err != nil {
		t.Fatal(err)
	}
	// The live stream carries the mirrors.
	ws, err := c.WatchCluster(ctx, &consolepb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	recvUntil(t, ws, "the stopped mirror", func(st *consolepb.ClusterState) bool {
		return len(st.GetMirrors()) == 1 && st.GetMirrors()[0].GetState() == "stopped"
	})
}

// fakeMembership moves the leadership of a fakeSource; the election takes transfer on clock.
type fakeMembership struct {
	src      *fakeSource
	transfer time.Duration
	clock    *fakeClock
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func incomingAdmin(ctx context.Context) context.Context {
	return metadata.NewIncomingContext(ctx, metadata.Pairs(AuthorizationHeader, "Bearer "+testToken))
}

func (f *fakeMembership) AddNode(context.Context, uint64, string) error { return nil }
func (f *fakeMembership) RemoveNode(context.Context, uint64) error      { return nil }
func (f *fakeMembership) TransferLeadership(_ context.Context, target uint64) (uint64, error) {
	if target == 0 {
		target = 2
	}
	f.clock.advance(f.transfer)
	f.src.set(func(s *fakeSource) { s.leader = target })
	return target, nil
}

func TestFailoverAndPerformanceChecks(t *testing.T) {
	src := newFakeSource(t)
	src.set(func(s *fakeSource) {
		s.info.Mode = ModeCluster
		s.members = []Member{{ID: 1, Voter: true, Role: RoleLeader}, {ID: 2, Voter: true, Role: RoleFollower}, {ID: 3, Voter: true, Role: RoleFollower}}
	})
	for _, tt := range []struct {
		name     string
		req      *consolepb.RunValidationRequest
		token    bool
		transfer time.Duration
		failover consolepb.CheckStatus
		detail   string
	}{
		{"not requested", &consolepb.RunValidationRequest{}, true, 0, skip, "not requested"},
		{"no token", &consolepb.RunValidationRequest{FailoverTest: true}, false, 0, skip, "needs the admin token"},
		{"fast", &consolepb.RunValidationRequest{FailoverTest: true}, true, 0, pass, "from node 1 to node 2"},
		{"slow", &consolepb.RunValidationRequest{FailoverTest: true}, true, 1100 * time.Millisecond, fail, "new leader in 1100 ms"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src.set(func(s *fakeSource) { s.leader = 1 })
			clock := &fakeClock{now: time.Now()}
			s, err := NewServer(Config{Source: src, AdminToken: testToken, Now: clock.Now,
				Membership: &fakeMembership{src: src, transfer: tt.transfer, clock: clock}})
			if err != nil {
				t.Fatal(err)
			}
			ctx := testCtx(t)
			if tt.token {
				ctx = incomingAdmin(ctx)
			}
			resp, err := s.RunValidation(ctx, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range resp.GetChecks() {
				switch c.GetId() {
				case "failover":
					if c.GetStatus() != tt.failover || !strings.Contains(c.GetDetail(), tt.detail) {
						t.Fatalf("failover = %v %q, want %v %q", c.GetStatus(), c.GetDetail(), tt.failover, tt.detail)
					}
				case "performance":
					if c.GetStatus() != skip {
						t.Fatalf("performance without a baseline = %v %q", c.GetStatus(), c.GetDetail())
					}
				}
			}
		})
	}
}
