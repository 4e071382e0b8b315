package console

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// fakeSource is a Source whose state tests set; every set signals a change.
type fakeSource struct {
	mu        sync.Mutex
	info      NodeInfo
	members   []Member
	leader    uint64
	topics    []Topic
	committed map[TopicPartition]int64
	groups    map[string]int
	migration []MigrationNode
	events    *Events
	changed   chan struct{}
}

func newFakeSource(t *testing.T) *fakeSource {
	dir := t.TempDir()
	return &fakeSource{
		info: NodeInfo{ID: 1, ClusterID: "chronik", Mode: ModeStandalone, KafkaAddr: "127.0.0.1:9092", NodeAddr: "127.0.0.1:9093",
			DataDir: dir, WALDir: dir + "/wal", WALFormat: 3, StartTime: time.Now()},
		members:   []Member{{ID: 1, Addr: "127.0.0.1:9093", Role: RoleLeader, Voter: true}},
		leader:    1,
		committed: map[TopicPartition]int64{},
		groups:    map[string]int{"Stable": 0, "Empty": 0},
		events:    NewEvents(100, nil),
		changed:   make(chan struct{}),
	}
}

func (f *fakeSource) set(fn func(f *fakeSource)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeSource) Node() NodeInfo { f.mu.Lock(); defer f.mu.Unlock(); return f.info }
func (f *fakeSource) Members() []Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Member(nil), f.members...)
}
func (f *fakeSource) Leader() (uint64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leader, f.leader != 0
}
func (f *fakeSource) Topics() []Topic {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Topic, len(f.topics))
	for i, t := range f.topics {
		out[i] = t
		out[i].Partitions = append([]Partition(nil), t.Partitions...)
	}
	return out
}
func (f *fakeSource) CommittedOffsets() map[TopicPartition]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[TopicPartition]int64{}
	for k, v := range f.committed {
		out[k] = v
	}
	return out
}
func (f *fakeSource) GroupCounts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.groups {
		out[k] = v
	}
	return out
}
func (f *fakeSource) Migration() []MigrationNode {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]MigrationNode(nil), f.migration...)
}
func (f *fakeSource) DiskStats() (int, int64) { return 0, 0 }
func (f *fakeSource) Events() *Events         { return f.events }
func (f *fakeSource) Changes() []<-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []<-chan struct{}{f.changed}
}

// setHWM sets topic's partition p high watermark (creating both as needed).
func (f *fakeSource) setHWM(topic string, p int32, hwm int64) {
	f.set(func(f *fakeSource) {
		for i := range f.topics {
			if f.topics[i].Name == topic {
				for j := range f.topics[i].Partitions {
					if f.topics[i].Partitions[j].Partition == p {
						f.topics[i].Partitions[j].HighWatermark = hwm
						return
					}
				}
				f.topics[i].Partitions = append(f.topics[i].Partitions, Partition{Partition: p, HighWatermark: hwm, Leader: 1, Replicas: []uint64{1}})
				return
			}
		}
		f.topics = append(f.topics, Topic{Name: topic, ReplicationFactor: 1,
			Partitions: []Partition{{Partition: p, HighWatermark: hwm, Leader: 1, Replicas: []uint64{1}}}})
	})
}

const testToken = "tok"

// testServer runs a console Server for src on an in-memory listener and returns a client.
func testServer(t *testing.T, cfg Config) (*Server, consolepb.ConsoleServiceClient) {
	t.Helper()
	if cfg.AdminToken == "" {
		cfg.AdminToken = testToken
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	s.Register(gs)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.Run(ctx) }()
	go func() { defer wg.Done(); _ = gs.Serve(ln) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		gs.Stop()
		wg.Wait()
	})
	return s, consolepb.NewConsoleServiceClient(conn)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func admin(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+testToken)
}
