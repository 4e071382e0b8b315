package meta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/chronik-stream/chronik/walcodec"
	"github.com/twmb/franz-go/pkg/kerr"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// memProposer stands in for Raft: it keeps the committed commands and applies
// each to every replica, the proposing store included.
type memProposer struct {
	mu       sync.Mutex
	cmds     [][]byte
	replicas []*Store
}

func (p *memProposer) Propose(_ context.Context, cmd []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cmds = append(p.cmds, cmd)
	for _, r := range p.replicas {
		if err := r.Apply(cmd); err != nil {
			return err
		}
	}
	return nil
}

func openStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, walcodec.V3, quietLogger(), nil)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

// stores gives each test a standalone store on disk and a Raft-like in-memory one.
func stores(t *testing.T) map[string]*Store {
	t.Helper()
	disk := openStore(t, filepath.Join(t.TempDir(), "wal", "__meta"))
	t.Cleanup(func() { _ = disk.Close() })
	mem := NewStore(quietLogger())
	mem.SetProposer(&memProposer{replicas: []*Store{mem}})
	return map[string]*Store{"standalone": disk, "proposer": mem}
}

func TestTopics(t *testing.T) {
	ctx := context.Background()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			orders, err := s.CreateTopic(ctx, "orders", 3, 1, map[string]string{"retention.ms": "1000"})
			if err != nil {
				t.Fatal(err)
			}
			if orders.Name != "orders" || orders.Partitions != 3 || orders.ReplicationFactor != 1 || orders.Configs["retention.ms"] != "1000" {
				t.Fatalf("created %+v", orders)
			}
			if orders.ID == ([16]byte{}) || orders.ID[6]>>4 != 4 || orders.ID[8]&0xc0 != 0x80 {
				t.Fatalf("topic id %x is not a UUID v4", orders.ID)
			}
			if _, err := s.CreateTopic(ctx, "audit", 1, 1, nil); err != nil {
				t.Fatal(err)
			}

			errCases := []struct {
				name string
				err  error
				want error
			}{
				{"duplicate", second(s.CreateTopic(ctx, "orders", 1, 1, nil)), kerr.TopicAlreadyExists},
				{"empty name", second(s.CreateTopic(ctx, "", 1, 1, nil)), kerr.InvalidTopicException},
				{"meta dir name", second(s.CreateTopic(ctx, "__meta", 1, 1, nil)), kerr.InvalidTopicException},
				{"path name", second(s.CreateTopic(ctx, "../x", 1, 1, nil)), kerr.InvalidTopicException},
				{"zero partitions", second(s.CreateTopic(ctx, "p0", 0, 1, nil)), kerr.InvalidPartitions},
				{"zero rf", second(s.CreateTopic(ctx, "rf0", 1, 0, nil)), kerr.InvalidReplicationFactor},
				{"shrink", s.CreatePartitions(ctx, "orders", 3), kerr.InvalidPartitions},
				{"partitions of unknown", s.CreatePartitions(ctx, "nope", 5), kerr.UnknownTopicOrPartition},
				{"configs of unknown", s.SetTopicConfigs(ctx, "nope", nil), kerr.UnknownTopicOrPartition},
				{"delete unknown", s.DeleteTopic(ctx, "nope"), kerr.UnknownTopicOrPartition},
			}
			for _, c := range errCases {
				if !errors.Is(c.err, c.want) {
					t.Errorf("%s: err = %v, want %v", c.name, c.err, c.want)
				}
			}

			if err := s.CreatePartitions(ctx, "orders", 5); err != nil {
				t.Fatal(err)
			}
			if err := s.SetTopicConfigs(ctx, "orders", map[string]string{"cleanup.policy": "delete"}); err != nil {
				t.Fatal(err)
			}
			got, ok := s.Topic("orders")
			if !ok || got.Partitions != 5 || got.ID != orders.ID || !reflect.DeepEqual(got.Configs, map[string]string{"cleanup.policy": "delete"}) {
				t.Fatalf("after changes: %+v", got)
			}
			got.Configs["mutated"] = "x" // callers get copies
			if again, _ := s.Topic("orders"); again.Configs["mutated"] != "" {
				t.Fatal("Topic returned the store's own map")
			}
			if byID, ok := s.TopicByID(orders.ID); !ok || byID.Name != "orders" {
				t.Fatalf("TopicByID = %+v %v", byID, ok)
			}
			if names := topicNames(s.Topics()); !reflect.DeepEqual(names, []string{"audit", "orders"}) {
				t.Fatalf("Topics() = %v", names)
			}

			// Deleting a topic drops its committed offsets; a re-created topic gets a new id.
			if err := s.CommitOffsets(ctx, "g", []OffsetCommit{{Topic: "orders", Partition: 0, Offset: 7}, {Topic: "audit", Partition: 0, Offset: 1}}); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteTopic(ctx, "orders"); err != nil {
				t.Fatal(err)
			}
			if _, ok := s.Topic("orders"); ok {
				t.Fatal("deleted topic still there")
			}
			if _, ok := s.FetchOffset("g", "orders", 0); ok {
				t.Fatal("offsets of deleted topic kept")
			}
			if _, ok := s.FetchOffset("g", "audit", 0); !ok {
				t.Fatal("offsets of another topic lost")
			}
			again, err := s.CreateTopic(ctx, "orders", 1, 1, nil)
			if err != nil || again.ID == orders.ID {
				t.Fatalf("re-created topic %+v, %v", again, err)
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }

func topicNames(ts []Topic) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func TestOffsetsAndGroups(t *testing.T) {
	ctx := context.Background()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			commits := []OffsetCommit{
				{Topic: "b", Partition: 1, Offset: 10, LeaderEpoch: 2, Metadata: "m", CommitTimeMs: 1700000000000},
				{Topic: "a", Partition: 2, Offset: 5, LeaderEpoch: -1},
				{Topic: "a", Partition: 0, Offset: 3, LeaderEpoch: -1},
			}
			if err := s.CommitOffsets(ctx, "g1", commits); err != nil {
				t.Fatal(err)
			}
			if err := s.CommitOffsets(ctx, "g1", []OffsetCommit{{Topic: "a", Partition: 0, Offset: 4, LeaderEpoch: -1}}); err != nil {
				t.Fatal(err)
			}
			if o, ok := s.FetchOffset("g1", "b", 1); !ok || o != commits[0] {
				t.Fatalf("FetchOffset = %+v %v", o, ok)
			}
			want := []OffsetCommit{{Topic: "a", Partition: 0, Offset: 4, LeaderEpoch: -1}, commits[1], commits[0]}
			if got := s.GroupOffsets("g1"); !reflect.DeepEqual(got, want) {
				t.Fatalf("GroupOffsets = %+v", got)
			}
			if err := s.DeleteOffsets(ctx, "g1", []TopicPartition{{"a", 2}, {"zz", 9}}); err != nil {
				t.Fatal(err)
			}
			if _, ok := s.FetchOffset("g1", "a", 2); ok {
				t.Fatal("deleted offset still there")
			}
			if err := s.CommitOffsets(ctx, "", commits); !errors.Is(err, kerr.InvalidGroupID) {
				t.Fatalf("empty group: %v", err)
			}

			rec := GroupRecord{Name: "g2", ProtocolType: "consumer", Protocol: "range", Leader: "m1", Generation: 3,
				Members: []GroupMemberRecord{{MemberID: "m1", InstanceID: "i1", ClientID: "c", ClientHost: "/127.0.0.1",
					SessionTimeoutMs: 10000, RebalanceTimeoutMs: 30000, ProtocolMetadata: []byte{0, 1}, Assignment: []byte{2, 3}}}}
			if err := s.PutGroup(ctx, rec); err != nil {
				t.Fatal(err)
			}
			groups := s.Groups()
			if len(groups) != 2 || !reflect.DeepEqual(groups[0], GroupRecord{Name: "g1"}) || !reflect.DeepEqual(groups[1], rec) {
				t.Fatalf("Groups() = %+v", groups)
			}
			groups[1].Members[0].Assignment[0] = 99 // callers get copies
			if g, _ := s.Group("g2"); g.Members[0].Assignment[0] != 2 {
				t.Fatal("Groups returned the store's own bytes")
			}
			if err := s.CommitOffsets(ctx, "g2", commits[:1]); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteGroup(ctx, "g2"); err != nil {
				t.Fatal(err)
			}
			if _, ok := s.Group("g2"); ok || len(s.GroupOffsets("g2")) != 0 {
				t.Fatal("DeleteGroup left the record or offsets")
			}
			if err := s.DeleteGroup(ctx, "never-existed"); err != nil {
				t.Fatalf("deleting an unknown group: %v", err)
			}
		})
	}
}

func TestProducerIDs(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "__meta")
	seen := map[int64]bool{}
	for round := range 3 {
		s := openStore(t, dir)
		for range 5 {
			id, err := s.AllocateProducerID(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if id < 0 || seen[id] {
				t.Fatalf("round %d: producer id %d reused or negative", round, id)
			}
			seen[id] = true
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// populate makes one of every kind of change.
func populate(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.CreateTopic(ctx, "orders", 2, 1, map[string]string{"segment.bytes": "1048576"})
	must(err)
	_, err = s.CreateTopic(ctx, "gone", 1, 1, nil)
	must(err)
	_, err = s.CreateTopic(ctx, "orders", 1, 1, nil) // refused by the pre-check, never logged
	if !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatal(err)
	}
	must(s.CreatePartitions(ctx, "orders", 4))
	must(s.SetTopicConfigs(ctx, "orders", map[string]string{"retention.ms": "-1"}))
	must(s.DeleteTopic(ctx, "gone"))
	must(s.CommitOffsets(ctx, "billing", []OffsetCommit{{Topic: "orders", Partition: 3, Offset: 42, LeaderEpoch: 0, Metadata: "x", CommitTimeMs: 5}}))
	must(s.CommitOffsets(ctx, "tmp", []OffsetCommit{{Topic: "orders", Partition: 0, Offset: 1}}))
	must(s.DeleteOffsets(ctx, "tmp", []TopicPartition{{"orders", 0}}))
	must(s.PutGroup(ctx, GroupRecord{Name: "billing", ProtocolType: "consumer", Protocol: "range", Leader: "m", Generation: 7,
		Members: []GroupMemberRecord{{MemberID: "m", SessionTimeoutMs: 6000, RebalanceTimeoutMs: 6000, Assignment: []byte("asg")}}}))
	must(s.PutGroup(ctx, GroupRecord{Name: "old", Generation: 1}))
	must(s.DeleteGroup(ctx, "old"))
	_, err = s.AllocateProducerID(ctx)
	must(err)
}

type dump struct {
	Topics  []Topic
	Groups  []GroupRecord
	Offsets map[string][]OffsetCommit
}

func dumpState(s *Store) dump {
	d := dump{Topics: s.Topics(), Groups: s.Groups(), Offsets: map[string][]OffsetCommit{}}
	for _, g := range d.Groups {
		d.Offsets[g.Name] = s.GroupOffsets(g.Name)
	}
	return d
}

func TestReplayAfterReopen(t *testing.T) {
	for _, format := range []uint8{walcodec.V2, walcodec.V3} {
		t.Run(fmt.Sprintf("v%d", format), func(t *testing.T) {
			ctx := context.Background()
			dir := filepath.Join(t.TempDir(), "wal", "__meta")
			s, err := Open(dir, format, quietLogger(), nil)
			if err != nil {
				t.Fatal(err)
			}
			populate(t, s)
			before := dumpState(s)
			nextBefore, _ := s.AllocateProducerID(ctx)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateTopic(ctx, "late", 1, 1, nil); !errors.Is(err, ErrClosed) {
				t.Fatalf("mutation after Close: %v", err)
			}

			// The segment is where the guide says, in the requested format.
			head := make([]byte, 4)
			f, err := os.Open(filepath.Join(dir, "wal_0_00000001.log"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = io.ReadFull(f, head)
			f.Close()
			if err != nil || string(head) != fmt.Sprintf("WAL%d", format) {
				t.Fatalf("segment starts with %q (%v)", head, err)
			}

			s, err = Open(dir, format, quietLogger(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if after := dumpState(s); !reflect.DeepEqual(after, before) {
				t.Fatalf("state after reopen:\n%+v\nwant:\n%+v", after, before)
			}
			if next, _ := s.AllocateProducerID(ctx); next <= nextBefore {
				t.Fatalf("producer id %d after restart, had %d before", next, nextBefore)
			}
			if len(before.Topics) != 1 || before.Topics[0].Partitions != 4 || len(before.Groups) != 1 ||
				before.Groups[0].Generation != 7 || before.Offsets["billing"][0].Offset != 42 {
				t.Fatalf("unexpected state %+v", before)
			}
		})
	}
}

func TestApplyIsDeterministic(t *testing.T) {
	// Two replicas fed the same commands reach the same state, and so does a
	// third replaying the command list later (as a follower catching up).
	a, b := NewStore(quietLogger()), NewStore(quietLogger())
	p := &memProposer{replicas: []*Store{a, b}}
	a.SetProposer(p)
	populate(t, a)
	c := NewStore(quietLogger())
	for _, cmd := range p.cmds {
		if err := c.Apply(cmd); err != nil {
			t.Fatal(err)
		}
	}
	da := dumpState(a)
	for name, s := range map[string]*Store{"replica": b, "replay": c} {
		if d := dumpState(s); !reflect.DeepEqual(d, da) {
			t.Errorf("%s state differs:\n%+v\nwant\n%+v", name, d, da)
		}
	}
	// Snapshot → Apply on an empty store is a restore.
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := NewStore(quietLogger())
	if err := r.Apply(snap); err != nil {
		t.Fatal(err)
	}
	if d := dumpState(r); !reflect.DeepEqual(d, da) {
		t.Fatalf("restored state differs:\n%+v\nwant\n%+v", d, da)
	}
	r.SetProposer(&memProposer{replicas: []*Store{r}})
	ida, _ := a.AllocateProducerID(context.Background())
	idr, _ := r.AllocateProducerID(context.Background())
	if ida != idr {
		t.Fatalf("next producer id after restore %d, want %d", idr, ida)
	}
}

func TestCommandEncoding(t *testing.T) {
	cmd, err := encodeCommand(kindCommitOffsets, &commitOffsetsCmd{Req: 9, Group: "g", Offsets: []OffsetCommit{{Topic: "t", Offset: 1}}}, 1700000000123)
	if err != nil {
		t.Fatal(err)
	}
	h, err := storage.ParseBatchHeader(cmd) // validates length and CRC-32C
	if err != nil {
		t.Fatal(err)
	}
	if h.Magic != 2 || h.ProducerID != -1 || h.NumRecords != 1 || h.Attributes != 0 || h.FirstTimestamp != 1700000000123 || h.Size() != len(cmd) {
		t.Fatalf("header %+v", h)
	}
	kind, value, err := decodeCommand(cmd)
	if err != nil || kind != kindCommitOffsets ||
		string(value) != `{"req":9,"group":"g","offsets":[{"topic":"t","partition":0,"offset":1,"leader_epoch":0,"commit_time_ms":0}]}` {
		t.Fatalf("decoded %q %s %v", kind, value, err)
	}

	bad := append([]byte(nil), cmd...)
	bad[len(bad)-1] ^= 0xff
	unknown, _ := encodeCommand("frobnicate", &deleteGroupCmd{Group: "g"}, 0)
	s := NewStore(quietLogger())
	for name, b := range map[string][]byte{"crc": bad, "short": cmd[:30], "unknown kind": unknown, "empty": nil} {
		if err := s.Apply(b); err == nil {
			t.Errorf("%s: Apply accepted a bad command", name)
		}
	}
}

func TestCompaction(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "__meta")
	s := openStore(t, dir)
	populate(t, s)
	for i := range 50 {
		if err := s.CommitOffsets(ctx, "busy", []OffsetCommit{{Topic: "orders", Partition: 0, Offset: int64(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	before := dumpState(s)
	hwm := s.local.log.HighWatermark()
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if start := s.local.log.LogStartOffset(); start != hwm {
		t.Fatalf("log start %d after compaction, want the snapshot's offset %d", start, hwm)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	if after := dumpState(s); !reflect.DeepEqual(after, before) {
		t.Fatalf("state after compaction and reopen:\n%+v\nwant\n%+v", after, before)
	}

	// Automatic compaction every few commands keeps the replayable tail short.
	s.compactEvery = 5
	for i := range 12 {
		if err := s.CommitOffsets(ctx, "busy", []OffsetCommit{{Topic: "orders", Partition: 1, Offset: int64(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if tail := s.local.log.HighWatermark() - s.local.log.LogStartOffset(); tail > 5 {
		t.Fatalf("%d commands after the last snapshot, want at most 5", tail)
	}
	before = dumpState(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	defer s.Close()
	if after := dumpState(s); !reflect.DeepEqual(after, before) {
		t.Fatalf("state after auto-compaction and reopen:\n%+v\nwant\n%+v", after, before)
	}

	if err := NewStore(nil).Compact(ctx); err == nil {
		t.Fatal("Compact without a local log succeeded")
	}
	s.SetProposer(&memProposer{replicas: []*Store{s}})
	if err := s.Compact(ctx); err == nil {
		t.Fatal("Compact with a replaced proposer succeeded")
	}
	if s.Log() == nil || NewStore(nil).Log() != nil {
		t.Fatal("Log() accessor wrong")
	}
}

func TestConcurrentMutations(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "__meta")
	s := openStore(t, dir)
	const workers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*3)
	ids := make(chan int64, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if _, err := s.CreateTopic(ctx, fmt.Sprintf("t%d-%d", w, i), 1, 1, nil); err != nil {
					errs <- err
				}
				if err := s.CommitOffsets(ctx, fmt.Sprintf("g%d", w), []OffsetCommit{{Topic: "x", Partition: int32(i), Offset: int64(i)}}); err != nil {
					errs <- err
				}
				id, err := s.AllocateProducerID(ctx)
				if err != nil {
					errs <- err
				}
				ids <- id
				_ = s.Topics()
				_ = s.Groups()
			}
		})
	}
	wg.Wait()
	close(errs)
	close(ids)
	for err := range errs {
		t.Error(err)
	}
	seen := map[int64]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("producer id %d allocated twice", id)
		}
		seen[id] = true
	}
	before := dumpState(s)
	if len(before.Topics) != workers*each || len(before.Groups) != workers {
		t.Fatalf("%d topics, %d groups", len(before.Topics), len(before.Groups))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	defer s.Close()
	if after := dumpState(s); !reflect.DeepEqual(after, before) {
		t.Fatal("state differs after reopen")
	}
}

func TestCanceledContext(t *testing.T) {
	for name, s := range stores(t) {
		if name != "standalone" {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.CreateTopic(ctx, "t", 1, 1, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if _, ok := s.Topic("t"); ok {
			t.Fatal("topic created with a canceled context")
		}
	}
}

func TestNoProposer(t *testing.T) {
	if _, err := NewStore(nil).CreateTopic(context.Background(), "t", 1, 1, nil); err == nil {
		t.Fatal("mutation without a proposer succeeded")
	}
}
