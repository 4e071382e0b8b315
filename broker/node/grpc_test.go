package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/chronik-stream/chronik/api/consolepb"
	"github.com/chronik-stream/chronik/broker/config"
)

const consoleTestToken = "console-t0ken"

// consoleNode starts a standalone node on free loopback ports with an admin token.
func consoleNode(t *testing.T) *Node {
	t.Helper()
	port := func() int {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.BindHost = "127.0.0.1"
	cfg.KafkaPort, cfg.HTTPPort = port(), port()
	cfg.Cluster.NodeAddr = fmt.Sprintf("127.0.0.1:%d", port())
	cfg.AdminToken = consoleTestToken
	n, err := Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Shutdown(context.Background()) })
	return n
}

func consoleClient(t *testing.T, n *Node) consolepb.ConsoleServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(n.NodeAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return consolepb.NewConsoleServiceClient(conn)
}

func withToken(ctx context.Context, tok string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func kafkaClient(t *testing.T, n *Node, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(n.KafkaAddr()), kgo.AllowAutoTopicCreation(),
		kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// produceOne produces records to topic partition 0, one batch each, and returns the last offset.
func produceEach(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, n int) int64 {
	t.Helper()
	var last int64
	for i := range n {
		r, err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(fmt.Sprintf("v%d", i))}).First()
		if err != nil {
			t.Fatalf("produce to %s: %v", topic, err)
		}
		last = r.Offset
	}
	return last
}

// watchUntil reads states until cond holds for one; it returns that state and every event seen.
func watchUntil(t *testing.T, stream grpc.ServerStreamingClient[consolepb.ClusterState], what string,
	cond func(*consolepb.ClusterState) bool) (*consolepb.ClusterState, []string) {
	t.Helper()
	var events []string
	for {
		st, err := stream.Recv()
		if err != nil {
			t.Fatalf("waiting for %s: %v (events: %q)", what, err, events)
		}
		for _, e := range st.GetEvents() {
			events = append(events, e.GetMessage())
		}
		if cond(st) {
			return st, events
		}
	}
}

func partitionOf(st *consolepb.ClusterState, topic string, p int32) *consolepb.PartitionState {
	for _, ts := range st.GetTopics() {
		if ts.GetName() == topic {
			for _, ps := range ts.GetPartitions() {
				if ps.GetPartition() == p {
					return ps
				}
			}
		}
	}
	return nil
}

// TestConsoleWatchClusterStandalone: a real node's console stream shows the node as the leader
// and delivers a produced topic, its high watermark and a produce rate (heartbeats and
// coalescing are tested in broker/console with a fake source).
func TestConsoleWatchClusterStandalone(t *testing.T) {
	n := consoleNode(t)
	ctx := testCtx(t)
	stream, err := consoleClient(t, n).WatchCluster(ctx, &consolepb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	first, startEvents := watchUntil(t, stream, "the first state", func(*consolepb.ClusterState) bool { return true })
	if first.GetMode() != consolepb.Mode_MODE_STANDALONE || first.GetLeaderId() != 1 || len(first.GetMembers()) != 1 {
		t.Fatalf("first state: mode %v leader %d members %v", first.GetMode(), first.GetLeaderId(), first.GetMembers())
	}
	m := first.GetMembers()[0]
	if m.GetId() != 1 || m.GetRole() != consolepb.Role_ROLE_LEADER || m.GetAddress() != n.NodeAddr() || m.GetKafkaAddress() != n.KafkaAddr() {
		t.Fatalf("member %v, want node 1 leader at %s (kafka %s)", m, n.NodeAddr(), n.KafkaAddr())
	}

	cl := kafkaClient(t, n)
	produceEach(t, ctx, cl, "orders", 1)
	_, events := watchUntil(t, stream, "orders/0 at HWM 1", func(st *consolepb.ClusterState) bool {
		p := partitionOf(st, "orders", 0)
		return p != nil && p.GetHighWatermark() == 1
	})
	produceEach(t, ctx, cl, "orders", 4)
	st, more := watchUntil(t, stream, "orders/0 at HWM 5", func(st *consolepb.ClusterState) bool {
		p := partitionOf(st, "orders", 0)
		return p != nil && p.GetHighWatermark() == 5
	})
	events = append(append(startEvents, events...), more...)
	p := partitionOf(st, "orders", 0)
	if p.GetProduceRate() <= 0 || p.GetLeaderId() != 1 || len(p.GetReplicas()) != 1 {
		t.Fatalf("orders/0: %v, want a positive produce rate, leader 1, one replica", p)
	}
	if !containsSub(events, "topic orders created (1 partition)") {
		t.Fatalf("events %q lack the topic creation", events)
	}
	if !containsSub(events, "chronik broker started") {
		t.Fatalf("events %q lack the node's own start log line", events)
	}
}

func containsSub(l []string, sub string) bool {
	for _, s := range l {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestConsoleMutatingRPCs: the admin token guards mutations; SetHighWatermark and Backup work
// on a standalone node; cluster and mirror RPCs answer Unimplemented, naming what is missing.
func TestConsoleMutatingRPCs(t *testing.T) {
	n := consoleNode(t)
	ctx := testCtx(t)
	c := consoleClient(t, n)
	cl := kafkaClient(t, n)
	produceEach(t, ctx, cl, "orders", 3) // three batches: offsets 0, 1, 2

	req := &consolepb.SetHighWatermarkRequest{Topic: "orders", Partition: 0, Offset: 1}
	for name, cctx := range map[string]context.Context{
		"no token": ctx, "wrong token": withToken(ctx, "nope"),
	} {
		if _, err := c.SetHighWatermark(cctx, req); status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: SetHighWatermark = %v, want Unauthenticated", name, err)
		}
	}
	actx := withToken(ctx, consoleTestToken)
	resp, err := c.SetHighWatermark(actx, req)
	if err != nil || resp.GetPrevious() != 3 || resp.GetHighWatermark() != 1 {
		t.Fatalf("SetHighWatermark = %v, %v; want previous 3, hwm 1", resp, err)
	}
	if l, _ := n.logs.Get("orders", 0); l.HighWatermark() != 1 {
		t.Fatalf("log HWM %d after SetHighWatermark, want 1", l.HighWatermark())
	}
	for _, tt := range []struct {
		req  *consolepb.SetHighWatermarkRequest
		code codes.Code
	}{
		{&consolepb.SetHighWatermarkRequest{Topic: "nope", Partition: 0, Offset: 0}, codes.NotFound},
		{&consolepb.SetHighWatermarkRequest{Topic: "orders", Partition: 0, Offset: 9}, codes.OutOfRange},
		{&consolepb.SetHighWatermarkRequest{Topic: "orders", Partition: 0, Offset: -1}, codes.InvalidArgument},
	} {
		if _, err := c.SetHighWatermark(actx, tt.req); status.Code(err) != tt.code {
			t.Errorf("SetHighWatermark(%v) = %v, want %v", tt.req, err, tt.code)
		}
	}

	// Before a backup the in-place preflight cannot vouch for one.
	pre, err := c.Preflight(ctx, &consolepb.PreflightRequest{Path: consolepb.MigrationPath_MIGRATION_PATH_IN_PLACE})
	if err != nil || checksByID(pre.GetChecks())["backup"].GetStatus() != consolepb.CheckStatus_CHECK_STATUS_SKIP {
		t.Fatalf("preflight before a backup: %v, %v", pre, err)
	}
	// Backup writes a complete archive and reads it back; the same path again is refused.
	path := filepath.Join(t.TempDir(), "b.tar.gz")
	last := backupRPC(t, actx, c, path)
	if !last.GetDone() || last.GetOutputPath() != path || last.GetFilesDone() == 0 || last.GetBytesDone() == 0 ||
		!last.GetVerified() || last.GetTopics() != 1 || last.GetPartitions() != 1 || last.GetRecords() != 1 {
		t.Fatalf("last backup message %v", last)
	}
	pre, err = c.Preflight(ctx, &consolepb.PreflightRequest{Path: consolepb.MigrationPath_MIGRATION_PATH_IN_PLACE})
	if b := checksByID(pre.GetChecks())["backup"]; err != nil || b.GetStatus() != consolepb.CheckStatus_CHECK_STATUS_PASS ||
		!strings.Contains(b.GetDetail(), path+" verified") {
		t.Fatalf("preflight after a verified backup: %v, %v", b, err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != last.GetBytesDone() {
		t.Fatalf("backup file: %v, %v; want %d bytes", st, err, last.GetBytesDone())
	}
	if _, err := backupErr(actx, c, path); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("second backup to %s: %v, want AlreadyExists", path, err)
	}

	// Membership needs cluster mode: a standalone node answers UNIMPLEMENTED naming the call.
	unimpl := map[string]func(context.Context) error{
		"AddNode": func(ctx context.Context) error {
			_, err := c.AddNode(ctx, &consolepb.AddNodeRequest{NodeId: 2, Address: "n2:9093"})
			return err
		},
		"RemoveNode": func(ctx context.Context) error {
			_, err := c.RemoveNode(ctx, &consolepb.RemoveNodeRequest{NodeId: 2})
			return err
		},
		"TransferLeadership": func(ctx context.Context) error {
			_, err := c.TransferLeadership(ctx, &consolepb.TransferLeadershipRequest{})
			return err
		},
	}
	for name, call := range unimpl {
		if err := call(ctx); status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s without token = %v, want Unauthenticated", name, err)
		}
		err := call(actx)
		if status.Code(err) != codes.Unimplemented || !strings.Contains(status.Convert(err).Message(), name) {
			t.Errorf("%s = %v, want Unimplemented naming the call", name, err)
		}
	}
	// What the node refuses, and why.
	for _, tt := range []struct {
		name string
		call func(context.Context) error
		code codes.Code
		msg  string
	}{
		{"StartWalMigration", func(ctx context.Context) error {
			_, err := c.StartWalMigration(ctx, &consolepb.StartWalMigrationRequest{})
			return err
		}, codes.FailedPrecondition, "nothing to migrate"},
		{"MirrorStart", func(ctx context.Context) error {
			_, err := c.MirrorStart(ctx, &consolepb.MirrorStartRequest{SourceBootstrap: "127.0.0.1:1"})
			return err
		}, codes.FailedPrecondition, "127.0.0.1:1"},
		{"MirrorStop", func(ctx context.Context) error {
			_, err := c.MirrorStop(ctx, &consolepb.MirrorStopRequest{MirrorId: "mirror-7"})
			return err
		}, codes.NotFound, "unknown mirror"},
	} {
		if err := tt.call(ctx); status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s without token = %v, want Unauthenticated", tt.name, err)
		}
		if err := tt.call(actx); status.Code(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s = %v, want %v with %q", tt.name, err, tt.code, tt.msg)
		}
	}
	if st, err := c.MirrorStatus(ctx, &consolepb.MirrorStatusRequest{}); err != nil || len(st.GetMirrors()) != 0 {
		t.Errorf("MirrorStatus = %v, %v; want no mirrors", st, err)
	}
}

func backupRPC(t *testing.T, ctx context.Context, c consolepb.ConsoleServiceClient, path string) *consolepb.BackupProgress {
	t.Helper()
	last, err := backupErr(ctx, c, path)
	if err != nil {
		t.Fatalf("Backup to %s: %v", path, err)
	}
	return last
}

func backupErr(ctx context.Context, c consolepb.ConsoleServiceClient, path string) (*consolepb.BackupProgress, error) {
	s, err := c.Backup(ctx, &consolepb.BackupRequest{OutputPath: path})
	if err != nil {
		return nil, err
	}
	var last *consolepb.BackupProgress
	for {
		p, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return last, nil
		}
		if err != nil {
			return last, err
		}
		last = p
	}
}

// TestConsoleStatusPreflightValidation: the read-only RPCs describe a real standalone node.
func TestConsoleStatusPreflightValidation(t *testing.T) {
	n := consoleNode(t)
	ctx := testCtx(t)
	c := consoleClient(t, n)
	produceEach(t, ctx, kafkaClient(t, n), "orders", 2)

	ns, err := c.NodeStatus(ctx, &consolepb.NodeStatusRequest{})
	if err != nil || ns.GetNodeId() != 1 || ns.GetMode() != consolepb.Mode_MODE_STANDALONE || ns.GetRole() != consolepb.Role_ROLE_LEADER ||
		ns.GetKafkaAddress() != n.KafkaAddr() || ns.GetTopics() != 1 || ns.GetPartitions() != 1 || !ns.GetAdminTokenConfigured() || ns.GetWalFormat() != 3 {
		t.Fatalf("NodeStatus = %v, %v", ns, err)
	}

	pf, err := c.Preflight(ctx, &consolepb.PreflightRequest{Path: consolepb.MigrationPath_MIGRATION_PATH_IN_PLACE})
	if err != nil {
		t.Fatal(err)
	}
	got := checksByID(pf.GetChecks())
	for id, want := range map[string]consolepb.CheckStatus{
		"backup": skip, "mode": pass, "wal_format": pass, "data_dir": pass, "admin_token": pass, "node_port": pass,
	} {
		if got[id].GetStatus() != want {
			t.Errorf("preflight %s = %v, want %v", id, got[id], want)
		}
	}
	mp, err := c.MigrationProgress(ctx, &consolepb.MigrationProgressRequest{})
	if err != nil || len(mp.GetNodes()) != 1 || mp.GetNodes()[0].GetState() != "done" || mp.GetNodes()[0].GetSegmentsTotal() == 0 {
		t.Fatalf("MigrationProgress = %v, %v", mp, err)
	}

	vreq := &consolepb.RunValidationRequest{
		ExpectedNodes:          1,
		ExpectedTopics:         []string{"orders"},
		ExpectedHighWatermarks: []*consolepb.PartitionOffset{{Topic: "orders", Partition: 0, Offset: 2}},
		ProduceConsumeTopic:    "validation",
	}
	v, err := c.RunValidation(withToken(ctx, consoleTestToken), vreq)
	if err != nil {
		t.Fatal(err)
	}
	got = checksByID(v.GetChecks())
	for id, want := range map[string]consolepb.CheckStatus{
		"nodes_joined": pass, "topics_present": pass, "hwm_match": pass, "produce_consume": pass,
		"failover": skip, "performance": skip, "metrics": pass,
	} {
		if got[id].GetStatus() != want {
			t.Errorf("validation %s = %v, want %v", id, got[id], want)
		}
	}
	// Without the token the produce/consume check is skipped, and a wrong baseline fails.
	vreq.ExpectedHighWatermarks[0].Offset = 7
	vreq.ExpectedTopics = append(vreq.ExpectedTopics, "payments")
	v, err = c.RunValidation(ctx, vreq)
	if err != nil {
		t.Fatal(err)
	}
	got = checksByID(v.GetChecks())
	if got["produce_consume"].GetStatus() != skip || got["hwm_match"].GetStatus() != fail || got["topics_present"].GetStatus() != fail ||
		!strings.Contains(got["topics_present"].GetDetail(), "payments") {
		t.Fatalf("validation without token and with a wrong baseline: %v", v.GetChecks())
	}
}

const (
	pass = consolepb.CheckStatus_CHECK_STATUS_PASS
	fail = consolepb.CheckStatus_CHECK_STATUS_FAIL
	skip = consolepb.CheckStatus_CHECK_STATUS_SKIP
)

func checksByID(cs []*consolepb.Check) map[string]*consolepb.Check {
	m := map[string]*consolepb.Check{}
	for _, c := range cs {
		m[c.GetId()] = c
	}
	return m
}

// TestConsoleShutdownEndsStreams: Shutdown completes with a WatchCluster stream open, and the
// stream ends.
func TestConsoleShutdownEndsStreams(t *testing.T) {
	n := consoleNode(t)
	ctx := testCtx(t)
	stream, err := consoleClient(t, n).WatchCluster(ctx, &consolepb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for {
		if _, err := stream.Recv(); err != nil {
			if code := status.Code(err); code != codes.Unavailable {
				t.Fatalf("stream ended with %v, want Unavailable", err)
			}
			return
		}
	}
}
