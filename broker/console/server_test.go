package console

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// rpcs calls every console RPC once; for Backup it drains the stream.
func rpcs(c consolepb.ConsoleServiceClient) map[string]func(context.Context) error {
	drain := func(recv func() error) error {
		for {
			if err := recv(); errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return err
			}
		}
	}
	return map[string]func(context.Context) error{
		"WatchCluster": func(ctx context.Context) error {
			s, err := c.WatchCluster(ctx, &consolepb.WatchRequest{})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		},
		"NodeStatus": func(ctx context.Context) error {
			_, err := c.NodeStatus(ctx, &consolepb.NodeStatusRequest{})
			return err
		},
		"Preflight": func(ctx context.Context) error {
			_, err := c.Preflight(ctx, &consolepb.PreflightRequest{Path: consolepb.MigrationPath_MIGRATION_PATH_FRESH})
			return err
		},
		"SetHighWatermark": func(ctx context.Context) error {
			_, err := c.SetHighWatermark(ctx, &consolepb.SetHighWatermarkRequest{Topic: "t", Offset: 1})
			return err
		},
		"StartWalMigration": func(ctx context.Context) error {
			_, err := c.StartWalMigration(ctx, &consolepb.StartWalMigrationRequest{})
			return err
		},
		"MigrationProgress": func(ctx context.Context) error {
			_, err := c.MigrationProgress(ctx, &consolepb.MigrationProgressRequest{})
			return err
		},
		"Backup": func(ctx context.Context) error {
			s, err := c.Backup(ctx, &consolepb.BackupRequest{OutputPath: "/tmp/x.tar.gz"})
			if err != nil {
				return err
			}
			return drain(func() error { _, err := s.Recv(); return err })
		},
		"RunValidation": func(ctx context.Context) error {
			_, err := c.RunValidation(ctx, &consolepb.RunValidationRequest{})
			return err
		},
		"TransferLeadership": func(ctx context.Context) error {
			_, err := c.TransferLeadership(ctx, &consolepb.TransferLeadershipRequest{})
			return err
		},
		"AddNode": func(ctx context.Context) error {
			_, err := c.AddNode(ctx, &consolepb.AddNodeRequest{NodeId: 2, Address: "n2:9093"})
			return err
		},
		"RemoveNode": func(ctx context.Context) error {
			_, err := c.RemoveNode(ctx, &consolepb.RemoveNodeRequest{NodeId: 2})
			return err
		},
		"MirrorStart": func(ctx context.Context) error {
			_, err := c.MirrorStart(ctx, &consolepb.MirrorStartRequest{})
			return err
		},
		"MirrorStop": func(ctx context.Context) error {
			_, err := c.MirrorStop(ctx, &consolepb.MirrorStopRequest{})
			return err
		},
		"MirrorStatus": func(ctx context.Context) error {
			_, err := c.MirrorStatus(ctx, &consolepb.MirrorStatusRequest{})
			return err
		},
		"MeasureProduce": func(ctx context.Context) error {
			_, err := c.MeasureProduce(ctx, &consolepb.MeasureProduceRequest{})
			return err
		},
	}
}

// What a node without Admin, Backuper and Membership answers to each RPC, with the token.
var withoutBackends = map[string]codes.Code{
	"WatchCluster": codes.OK, "NodeStatus": codes.OK, "Preflight": codes.OK, "MigrationProgress": codes.OK,
	"RunValidation": codes.OK, "MirrorStatus": codes.OK, // no mirrors
	"MeasureProduce": codes.InvalidArgument, // no topic
	// mutating:
	"SetHighWatermark": codes.Unimplemented, "StartWalMigration": codes.Unimplemented, "Backup": codes.Unimplemented,
	"TransferLeadership": codes.Unimplemented, "AddNode": codes.Unimplemented, "RemoveNode": codes.Unimplemented,
	"MirrorStart": codes.Unimplemented, "MirrorStop": codes.Unimplemented,
}

var mutating = map[string]bool{
	"SetHighWatermark": true, "StartWalMigration": true, "Backup": true, "TransferLeadership": true,
	"AddNode": true, "RemoveNode": true, "MirrorStart": true, "MirrorStop": true, "MeasureProduce": true,
}

// TestEveryRPCCoveredAndGuarded: every RPC of the service is listed here; mutating ones answer
// Unauthenticated without a valid token (before anything else), and the rest of the answers
// never claim success for what the node cannot do.
func TestEveryRPCCoveredAndGuarded(t *testing.T) {
	src := newFakeSource(t)
	_, c := testServer(t, Config{Source: src})
	calls := rpcs(c)
	var names []string
	for _, m := range consolepb.ConsoleService_ServiceDesc.Methods {
		names = append(names, m.MethodName)
	}
	for _, s := range consolepb.ConsoleService_ServiceDesc.Streams {
		names = append(names, s.StreamName)
	}
	if len(names) != len(calls) || len(names) != len(withoutBackends) {
		t.Fatalf("service has %d RPCs %v; the test covers %d and %d", len(names), names, len(calls), len(withoutBackends))
	}
	ctx := testCtx(t)
	bad := map[string]context.Context{
		"no token":     ctx,
		"wrong token":  metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer nope"),
		"no Bearer":    metadata.AppendToOutgoingContext(ctx, "authorization", testToken),
		"empty bearer": metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "),
	}
	for _, name := range names {
		call, ok := calls[name]
		if !ok {
			t.Fatalf("RPC %s is not covered", name)
		}
		if mutating[name] {
			for what, bctx := range bad {
				if err := call(bctx); status.Code(err) != codes.Unauthenticated {
					t.Errorf("%s with %s = %v, want Unauthenticated", name, what, err)
				}
			}
		}
		err := call(metadata.AppendToOutgoingContext(ctx, "authorization", "bearer "+testToken))
		if got, want := status.Code(err), withoutBackends[name]; got != want {
			t.Errorf("%s with token = %v, want %v", name, err, want)
		}
		if status.Code(err) == codes.Unimplemented && !strings.Contains(status.Convert(err).Message(), name) {
			t.Errorf("%s: Unimplemented message %q does not name the call", name, status.Convert(err).Message())
		}
	}

	// A node without admin_token refuses mutations whatever token comes.
	s3, err := NewServer(Config{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	in := metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer anything"))
	if err := s3.requireAdmin(in, "AddNode"); status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "no admin_token") {
		t.Fatalf("requireAdmin without a configured token = %v", err)
	}
}

func recvUntil(t *testing.T, s grpc.ServerStreamingClient[consolepb.ClusterState], what string, cond func(*consolepb.ClusterState) bool) (*consolepb.ClusterState, []*consolepb.ClusterState) {
	t.Helper()
	var all []*consolepb.ClusterState
	for {
		st, err := s.Recv()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		all = append(all, st)
		if cond(st) {
			return st, all
		}
	}
}

func eventsOf(states []*consolepb.ClusterState) []string {
	var out []string
	for _, st := range states {
		for _, e := range st.GetEvents() {
			out = append(out, e.GetMessage())
		}
	}
	return out
}

func hwmOf(st *consolepb.ClusterState, topic string, p int32) int64 {
	for _, t := range st.GetTopics() {
		if t.GetName() == topic {
			for _, ps := range t.GetPartitions() {
				if ps.GetPartition() == p {
					return ps.GetHighWatermark()
				}
			}
		}
	}
	return -1
}

func TestWatchClusterChangesEventsHeartbeats(t *testing.T) {
	src := newFakeSource(t)
	src.events.Append(slog.LevelInfo, "before the stream")
	s, c := testServer(t, Config{Source: src, MinInterval: 5 * time.Millisecond, SampleInterval: 20 * time.Millisecond,
		HeartbeatInterval: 50 * time.Millisecond, RateWindow: 100 * time.Millisecond})
	ctx := testCtx(t)
	stream, err := c.WatchCluster(ctx, &consolepb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := recvUntil(t, stream, "the first state", func(*consolepb.ClusterState) bool { return true })
	if first.GetLeaderId() != 1 || len(first.GetMembers()) != 1 || first.GetHeartbeat() || first.GetServerTimeUnixMs() == 0 ||
		len(first.GetEvents()) != 1 || first.GetEvents()[0].GetMessage() != "before the stream" {
		t.Fatalf("first state %v", first)
	}

	src.setHWM("orders", 0, 10)
	st, states := recvUntil(t, stream, "orders/0 = 10", func(st *consolepb.ClusterState) bool { return hwmOf(st, "orders", 0) == 10 })
	if st.GetSequence() <= first.GetSequence() {
		t.Fatalf("sequence %d after %d", st.GetSequence(), first.GetSequence())
	}
	src.events.Append(slog.LevelWarn, "operator note")
	src.set(func(f *fakeSource) { f.leader = 0 })
	src.set(func(f *fakeSource) {
		f.leader = 2
		f.members = append(f.members, Member{ID: 2, Addr: "n2:9093", Role: RoleLeader})
	})
	_, more := recvUntil(t, stream, "leader 2", func(st *consolepb.ClusterState) bool { return st.GetLeaderId() == 2 })
	states = append(states, more...)
	// The rates settle (RateWindow) and then only heartbeats come, with the same sequence.
	hb, more := recvUntil(t, stream, "a heartbeat", func(st *consolepb.ClusterState) bool { return st.GetHeartbeat() })
	states = append(states, more...)
	next, _ := recvUntil(t, stream, "another message", func(*consolepb.ClusterState) bool { return true })
	if !next.GetHeartbeat() || next.GetSequence() != hb.GetSequence() || hwmOf(hb, "orders", 0) != 10 || len(hb.GetEvents()) != 0 {
		t.Fatalf("heartbeats %v then %v", hb, next)
	}

	evs := strings.Join(eventsOf(states), "|")
	for _, want := range []string{"topic orders created (1 partition)", "operator note", "node 2 joined the cluster"} {
		if strings.Count(evs, want) != 1 {
			t.Errorf("events %q: want %q exactly once", evs, want)
		}
	}
	if !strings.Contains(evs, "leader") {
		t.Errorf("events %q lack the leader change", evs)
	}

	// Close ends the stream with Unavailable.
	s.Close()
	for {
		if _, err := stream.Recv(); err != nil {
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("stream ended with %v, want Unavailable", err)
			}
			break
		}
	}
}

// TestWatchClusterCoalesces: a burst of changes yields far fewer states than changes, and the
// last state has the final values.
func TestWatchClusterCoalesces(t *testing.T) {
	src := newFakeSource(t)
	_, c := testServer(t, Config{Source: src, MinInterval: time.Second})
	ctx := testCtx(t)
	stream, err := c.WatchCluster(ctx, &consolepb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	recvUntil(t, stream, "the first state", func(*consolepb.ClusterState) bool { return true })
	const changes = 200
	for i := range changes {
		src.setHWM("orders", 0, int64(i+1))
	}
	_, states := recvUntil(t, stream, "the last change", func(st *consolepb.ClusterState) bool { return hwmOf(st, "orders", 0) == changes })
	if len(states) >= changes/10 {
		t.Fatalf("%d states for %d changes made back to back with MinInterval 1s", len(states), changes)
	}
	for i := 1; i < len(states); i++ {
		if !states[i].GetHeartbeat() && states[i].GetSequence() <= states[i-1].GetSequence() {
			t.Fatalf("sequence went from %d to %d", states[i-1].GetSequence(), states[i].GetSequence())
		}
	}
}

// TestRatesFromDeltas: produce and consume rates come from HWM and committed-offset deltas.
func TestRatesFromDeltas(t *testing.T) {
	src := newFakeSource(t)
	_, c := testServer(t, Config{Source: src, MinInterval: 5 * time.Millisecond, SampleInterval: 20 * time.Millisecond})
	ctx := testCtx(t)
	stream, err := c.WatchCluster(ctx, &consolepb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	src.setHWM("orders", 0, 100)
	recvUntil(t, stream, "orders", func(st *consolepb.ClusterState) bool { return hwmOf(st, "orders", 0) == 100 })
	src.set(func(f *fakeSource) { f.committed[TopicPartition{"orders", 0}] = 50 })
	src.setHWM("orders", 0, 200)
	st, _ := recvUntil(t, stream, "rates", func(st *consolepb.ClusterState) bool {
		p := st.GetTopics()[0].GetPartitions()[0]
		return p.GetHighWatermark() == 200 && p.GetConsumeRate() > 0
	})
	if p := st.GetTopics()[0].GetPartitions()[0]; p.GetProduceRate() <= 0 {
		t.Fatalf("partition %v: want positive produce and consume rates", p)
	}
}
