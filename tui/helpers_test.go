package tui

import (
	"context"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/chronik-stream/chronik/api/consolepb"
)

func TestMain(m *testing.M) {
	// Plain text everywhere: goldens and assertions must not depend on the terminal.
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

// testEpoch is the time of every test model's clock.
var testEpoch = time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)

func fixedNow() time.Time { return testEpoch }

// sampleState is a two-topic standalone node with events and migration progress.
func sampleState(seq uint64) *consolepb.ClusterState {
	at := func(s int) int64 { return testEpoch.Add(time.Duration(s) * time.Second).UnixMilli() }
	return &consolepb.ClusterState{
		ClusterId: "chronik", Mode: consolepb.Mode_MODE_STANDALONE, NodeId: 1, LeaderId: 1, Sequence: seq,
		ServerTimeUnixMs: testEpoch.UnixMilli(),
		Members: []*consolepb.Member{{Id: 1, Address: "127.0.0.1:9093", Role: consolepb.Role_ROLE_LEADER, Voter: true,
			KafkaAddress: "127.0.0.1:9092"}},
		Topics: []*consolepb.TopicState{
			{Name: "orders", ReplicationFactor: 1, Partitions: []*consolepb.PartitionState{
				{Partition: 0, HighWatermark: 1200, LeaderId: 1, Replicas: []uint64{1}, ProduceRate: 250, ConsumeRate: 120},
				{Partition: 1, HighWatermark: 900, LogStartOffset: 100, LeaderId: 1, Replicas: []uint64{1}, ProduceRate: 3.5},
			}},
			{Name: "payments", ReplicationFactor: 1, Partitions: []*consolepb.PartitionState{
				{Partition: 0, HighWatermark: 42, LeaderId: 1, Replicas: []uint64{1}},
			}},
		},
		GroupsByState: map[string]int32{"Empty": 1, "Stable": 2, "PreparingRebalance": 0, "CompletingRebalance": 0},
		Migration: []*consolepb.MigrationNode{{NodeId: 1, SegmentsV3: 3, SegmentsTotal: 8, State: "idle",
			Detail: "5 V2 segments left: converted at the next start"}},
		Mirrors: []*consolepb.MirrorState{{MirrorId: "mirror-1", SourceBootstrap: "blue-1:9092", State: "running", Lag: 300,
			Records: 1842, Groups: 2, Partitions: []*consolepb.MirrorPartition{
				{Topic: "orders", Partition: 0, SourceHighWatermark: 1200, NextSourceOffset: 1200, NextDestOffset: 1200},
				{Topic: "orders", Partition: 1, SourceLogStart: 100, SourceHighWatermark: 1200, NextSourceOffset: 900, NextDestOffset: 900, Lag: 300},
				{Topic: "payments", Partition: 0, SourceHighWatermark: 42, NextSourceOffset: 42, NextDestOffset: 42},
			}}},
		Events: []*consolepb.Event{
			{Seq: 1, TimeUnixMs: at(-60), Level: consolepb.Level_LEVEL_INFO, Message: "chronik broker started", NodeId: 1},
			{Seq: 2, TimeUnixMs: at(-30), Level: consolepb.Level_LEVEL_INFO, Message: "topic orders created (2 partitions)", NodeId: 1},
			{Seq: 3, TimeUnixMs: at(-10), Level: consolepb.Level_LEVEL_WARN, Message: "high watermark of orders/1 set from 950 to 900", NodeId: 1},
		},
	}
}

// testModel is a model without a connection, with a fixed clock and no ticks.
func testModel(o Options) Model {
	if o.Now == nil {
		o.Now = fixedNow
	}
	o.Location = time.UTC
	o.TickInterval = -1
	if o.Addr == "" {
		o.Addr = "127.0.0.1:9093"
	}
	return New(o)
}

func update(t *testing.T, m Model, msgs ...tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	var cmd tea.Cmd
	for _, msg := range msgs {
		var next tea.Model
		next, cmd = m.Update(msg)
		m = next.(Model)
	}
	return m, cmd
}

func keyMsg(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

func keys(ss ...string) []tea.Msg {
	out := make([]tea.Msg, len(ss))
	for i, s := range ss {
		out[i] = keyMsg(s)
	}
	return out
}

// exec runs cmd (and the batches it returns) and returns the messages, waiting at most 10 s.
func exec(t *testing.T, cmd tea.Cmd) []tea.Msg {
	t.Helper()
	if cmd == nil {
		return nil
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("command did not finish within 10s")
	}
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, exec(t, c)...)
		}
		return out
	}
	if msg == nil {
		return nil
	}
	return []tea.Msg{msg}
}

// fakeConsole is a ConsoleService whose WatchCluster sends what the test puts on states.
type fakeConsole struct {
	consolepb.UnimplementedConsoleServiceServer
	states chan *consolepb.ClusterState

	mu          sync.Mutex
	tokens      []string // authorization metadata of every call
	backups     []string
	mirrorCalls []string
	validations []*consolepb.RunValidationRequest
	walStarts   []*consolepb.StartWalMigrationRequest
}

func (f *fakeConsole) note(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = append(f.tokens, md.Get("authorization")...)
}

func (f *fakeConsole) WatchCluster(_ *consolepb.WatchRequest, s grpc.ServerStreamingServer[consolepb.ClusterState]) error {
	f.note(s.Context())
	for {
		select {
		case st, ok := <-f.states:
			if !ok {
				return status.Error(codes.Unavailable, "fake node going away")
			}
			if err := s.Send(st); err != nil {
				return err
			}
		case <-s.Context().Done():
			return s.Context().Err()
		}
	}
}

func (f *fakeConsole) Preflight(ctx context.Context, req *consolepb.PreflightRequest) (*consolepb.PreflightResponse, error) {
	f.note(ctx)
	return &consolepb.PreflightResponse{NodeId: 1, Checks: []*consolepb.Check{
		{Id: "mode", Name: "Current mode", Status: consolepb.CheckStatus_CHECK_STATUS_PASS, Detail: "standalone"},
		{Id: "cpu", Name: "CPU cores", Status: consolepb.CheckStatus_CHECK_STATUS_WARN, Detail: "2 cores"},
	}}, nil
}

func (f *fakeConsole) Backup(req *consolepb.BackupRequest, s grpc.ServerStreamingServer[consolepb.BackupProgress]) error {
	f.note(s.Context())
	md, _ := metadata.FromIncomingContext(s.Context())
	if len(md.Get("authorization")) == 0 {
		return status.Error(codes.Unauthenticated, "Backup needs the admin token")
	}
	f.mu.Lock()
	f.backups = append(f.backups, req.GetOutputPath())
	f.mu.Unlock()
	return s.Send(&consolepb.BackupProgress{Done: true, OutputPath: "/var/lib/chronik/" + req.GetOutputPath(), FilesDone: 4, FilesTotal: 4, BytesDone: 2048, BytesTotal: 8192,
		Verified: true, Topics: 2, Partitions: 3, Records: 2142})
}

func (f *fakeConsole) RunValidation(ctx context.Context, req *consolepb.RunValidationRequest) (*consolepb.RunValidationResponse, error) {
	f.note(ctx)
	f.mu.Lock()
	f.validations = append(f.validations, req)
	f.mu.Unlock()
	st := consolepb.CheckStatus_CHECK_STATUS_PASS
	if req.GetExpectedNodes() != 1 {
		st = consolepb.CheckStatus_CHECK_STATUS_FAIL
	}
	return &consolepb.RunValidationResponse{NodeId: 1, Checks: []*consolepb.Check{
		{Id: "nodes_joined", Name: "All nodes joined cluster", Status: st, Detail: "1 member"},
		{Id: "hwm_match", Name: "High watermarks match v1.x", Status: consolepb.CheckStatus_CHECK_STATUS_PASS,
			Detail: "baseline of " + strconv.Itoa(len(req.GetExpectedHighWatermarks()))},
	}}, nil
}

// fakeServer serves f on an in-memory listener; the returned client talks to it.
func fakeServer(t *testing.T, f *fakeConsole) consolepb.ConsoleServiceClient {
	t.Helper()
	ln := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	consolepb.RegisterConsoleServiceServer(gs, f)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = gs.Serve(ln) }()
	conn, err := grpc.NewClient("passthrough:///fake",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		gs.Stop()
		wg.Wait()
	})
	return consolepb.NewConsoleServiceClient(conn)
}

func (f *fakeConsole) MeasureProduce(ctx context.Context, req *consolepb.MeasureProduceRequest) (*consolepb.MeasureProduceResponse, error) {
	f.note(ctx)
	md, _ := metadata.FromIncomingContext(ctx)
	if len(md.Get("authorization")) == 0 {
		return nil, status.Error(codes.Unauthenticated, "MeasureProduce needs the admin token")
	}
	bs := req.GetBootstrap()
	if bs == "" {
		bs = "127.0.0.1:9092"
	}
	return &consolepb.MeasureProduceResponse{Bootstrap: bs, Records: 150000, Bytes: 150000 * 1024, DurationMs: 3000,
		RecordsPerSec: 50000, MbPerSec: 48.8, RecordBytes: 1024}, nil
}

func (f *fakeConsole) MirrorStart(ctx context.Context, req *consolepb.MirrorStartRequest) (*consolepb.MirrorStartResponse, error) {
	f.note(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mirrorCalls = append(f.mirrorCalls, "start "+req.GetSourceBootstrap())
	return &consolepb.MirrorStartResponse{MirrorId: "mirror-1"}, nil
}

func (f *fakeConsole) MirrorStop(ctx context.Context, req *consolepb.MirrorStopRequest) (*consolepb.MirrorStopResponse, error) {
	f.note(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mirrorCalls = append(f.mirrorCalls, "stop "+req.GetMirrorId())
	return &consolepb.MirrorStopResponse{}, nil
}

// clusterState is sampleState as node 1 of a three-node cluster (green) with mirror-1 from blue
// lag behind.
func clusterState(seq uint64, lag int64) *consolepb.ClusterState {
	st := sampleState(seq)
	st.Mode = consolepb.Mode_MODE_CLUSTER
	st.Members = []*consolepb.Member{
		{Id: 1, Address: "green-1:9093", Role: consolepb.Role_ROLE_LEADER, Voter: true},
		{Id: 2, Address: "green-2:9093", Role: consolepb.Role_ROLE_FOLLOWER, Voter: true},
		{Id: 3, Address: "green-3:9093", Role: consolepb.Role_ROLE_FOLLOWER, Voter: true},
	}
	m := st.Mirrors[0]
	m.Lag = lag
	m.Partitions[1].SourceHighWatermark = 900 + lag
	m.Partitions[1].Lag = lag
	return st
}

// StartWalMigration records the request and answers as a node that cannot (UNIMPLEMENTED).
func (f *fakeConsole) StartWalMigration(ctx context.Context, req *consolepb.StartWalMigrationRequest) (*consolepb.StartWalMigrationResponse, error) {
	f.note(ctx)
	f.mu.Lock()
	f.walStarts = append(f.walStarts, req)
	f.mu.Unlock()
	return nil, status.Error(codes.Unimplemented, "method StartWalMigration not implemented")
}
