package mirror_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-stream/chronik/broker/mirror"
)

// TestMirrorCopiesEveryRecord mirrors three topics between two real nodes and compares every
// record: partition, offset, key (nil and empty), value, headers and timestamp.
func TestMirrorCopiesEveryRecord(t *testing.T) {
	srcNode, dstNode := startNode(t), startNode(t)
	src := newClient(t, srcNode.KafkaAddr())
	dstCl := newClient(t, dstNode.KafkaAddr())
	topics := map[string]int32{"orders": 3, "payments": 2, "audit": 1}
	createTopic(t, src, "orders", 3, nil)
	createTopic(t, src, "payments", 2, map[string]string{"retention.ms": "3600000", "cleanup.policy": "compact"})
	createTopic(t, src, "audit", 1, nil)
	createTopic(t, src, "other", 1, nil)     // not matched by the regex
	createTopic(t, src, "__private", 1, nil) // internal: never mirrored, even when matched
	const perPartition = 200
	for topic, n := range topics {
		for p := range n {
			produce(t, src, genRecords(topic, p, 0, perPartition))
		}
	}
	produce(t, src, genRecords("other", 0, 0, 5))
	produce(t, src, genRecords("__private", 0, 0, 5))

	dir := t.TempDir()
	m, _ := runManager(t, dir, dstNode.KafkaAddr())
	id := startMirror(t, m, srcNode.KafkaAddr(), "orders|payments|audit|__.*")
	if id != "mirror-1" {
		t.Fatalf("first mirror id = %q, want mirror-1", id)
	}
	want := map[string][]int64{"orders": {200, 200, 200}, "payments": {200, 200}, "audit": {200}}
	waitMirrored(t, m, id, want)

	total := 0
	for topic, n := range topics {
		total += compareTopic(t, srcNode.KafkaAddr(), dstNode.KafkaAddr(), topic, n, 0)
	}
	if got := topicNames(t, dstCl); !slices.Equal(got, []string{"audit", "orders", "payments"}) {
		t.Fatalf("destination topics = %v, want only the three matched ones", got)
	}
	st := statusOf(t, m, id)
	if st.State != "running" || st.Records != int64(total) || st.Lag != 0 || len(st.Partitions) != 6 || st.Error != "" ||
		st.Source != srcNode.KafkaAddr() || st.TopicRegex != "orders|payments|audit|__.*" {
		t.Fatalf("status = %+v, want running with %d records, no lag, 6 partitions", st, total)
	}
	if p := st.Partitions[0]; p.Topic != "audit" || p.SourceHighWatermark != 200 || p.SourceLogStart != 0 || p.NextDestOffset != 200 {
		t.Fatalf("first partition status = %+v", p)
	}
	// Topic configs set on the source topic are carried over.
	if got := describeConfig(t, dstCl, "payments"); got["retention.ms"] != "3600000" || got["cleanup.policy"] != "compact" {
		t.Fatalf("destination payments configs = %v", got)
	}
	for _, tc := range []struct {
		off    int64
		want   int64
		wantOK bool
	}{{0, 0, true}, {150, 150, true}, {200, 200, true}, {201, 0, false}} {
		if got, ok := m.Translate(id, "orders", 1, tc.off); ok != tc.wantOK || got != tc.want {
			t.Fatalf("Translate(orders[1], %d) = %d, %v; want %d, %v", tc.off, got, ok, tc.want, tc.wantOK)
		}
	}

	// Records produced while the mirror runs follow.
	produce(t, src, genRecords("orders", 2, perPartition, 50))
	want["orders"][2] = 250
	waitMirrored(t, m, id, want)
	compareTopic(t, srcNode.KafkaAddr(), dstNode.KafkaAddr(), "orders", 3, 0)

	// Stop: persisted as stopped, not resumed by the next manager.
	if err := m.Stop(testCtx(t), id); err != nil {
		t.Fatal(err)
	}
	if st := statusOf(t, m, id); st.State != "stopped" || st.Records != int64(total+50) {
		t.Fatalf("status after Stop = %+v", st)
	}
	m2, _ := runManager(t, t.TempDir(), dstNode.KafkaAddr()) // other dir: ids start again
	_ = m2
	var defs struct {
		Mirrors []struct{ ID, State string }
	}
	b, err := os.ReadFile(filepath.Join(dir, "mirrors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &defs); err != nil || len(defs.Mirrors) != 1 || defs.Mirrors[0].State != "stopped" {
		t.Fatalf("mirrors.json = %s (%v)", b, err)
	}
}

func describeConfig(t *testing.T, cl *kgo.Client, topic string) map[string]string {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, topic
	req.Resources = append(req.Resources, rr)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string)
	for _, c := range resp.Resources[0].Configs {
		if c.Value != nil && c.Source == kmsg.ConfigSourceDynamicTopicConfig {
			out[c.Name] = *c.Value
		}
	}
	return out
}

// TestMirrorResumesAfterRestart stops the Manager while records flow and opens a new one on
// the same directory: no record is missing or duplicated.
func TestMirrorResumesAfterRestart(t *testing.T) {
	srcNode, dstNode := startNode(t), startNode(t)
	src := newClient(t, srcNode.KafkaAddr())
	createTopic(t, src, "events", 2, nil)

	// A producer that keeps going until told to stop.
	var produced [2]atomic.Int64
	stopProducing := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stopProducing:
				return
			default:
			}
			p := int32(i % 2)
			first := produced[p].Load()
			recs := genRecords("events", p, int(first), 25)
			if err := src.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
				t.Errorf("producing: %v", err)
				return
			}
			produced[p].Add(25)
		}
	}()
	defer func() {
		close(stopProducing)
		wg.Wait()
	}()

	dir := t.TempDir()
	m, stop := runManager(t, dir, dstNode.KafkaAddr())
	id := startMirror(t, m, srcNode.KafkaAddr(), "events")
	waitFor(t, "some records mirrored", func() (bool, string) {
		st := statusOf(t, m, id)
		return st.Records >= 300, st.State
	})
	stop() // Run returns after the final checkpoint
	before := statusOf(t, m, id).Records
	if _, err := os.Stat(checkpointFile(dir, id)); err != nil {
		t.Fatal(err)
	}

	m2, _ := runManager(t, dir, dstNode.KafkaAddr())
	waitFor(t, "more records mirrored after the restart", func() (bool, string) {
		st := statusOf(t, m2, id)
		return st.Records >= before+300, st.State + " " + st.Error
	})
	close(stopProducing)
	wg.Wait()
	stopProducing = make(chan struct{}) // for the deferred close

	ends := hwms(t, src, "events", 2)
	waitMirrored(t, m2, id, map[string][]int64{"events": ends})
	total := compareTopic(t, srcNode.KafkaAddr(), dstNode.KafkaAddr(), "events", 2, 0)
	if st := statusOf(t, m2, id); st.Records != int64(total) || st.State != "running" {
		t.Fatalf("status after resume = %+v, want %d records", st, total)
	}
}

// TestMirrorResumesAfterCrash replaces the checkpoint with an older one (as if the process
// died before checkpointing what the destination acknowledged): the resume skips what the
// destination already holds. A checkpoint ahead of the destination fails the mirror.
func TestMirrorResumesAfterCrash(t *testing.T) {
	srcNode, dstNode := startNode(t), startNode(t)
	src := newClient(t, srcNode.KafkaAddr())
	createTopic(t, src, "ledger", 2, nil)
	produce(t, src, append(genRecords("ledger", 0, 0, 100), genRecords("ledger", 1, 0, 60)...))

	dir := t.TempDir()
	m, stop := runManager(t, dir, dstNode.KafkaAddr())
	id := startMirror(t, m, srcNode.KafkaAddr(), "ledger")
	waitMirrored(t, m, id, map[string][]int64{"ledger": {100, 60}})
	waitFor(t, "checkpoint of the first batch", func() (bool, string) {
		b, _ := os.ReadFile(checkpointFile(dir, id))
		return strings.Contains(string(b), `"records": 160`), string(b)
	})
	old, err := os.ReadFile(checkpointFile(dir, id))
	if err != nil {
		t.Fatal(err)
	}

	produce(t, src, append(genRecords("ledger", 0, 100, 40), genRecords("ledger", 1, 60, 70)...))
	waitMirrored(t, m, id, map[string][]int64{"ledger": {140, 130}})
	stop()

	// "Crash": the checkpoint on disk is older than the destination.
	if err := os.WriteFile(checkpointFile(dir, id), old, 0o644); err != nil {
		t.Fatal(err)
	}
	m2, stop2 := runManager(t, dir, dstNode.KafkaAddr())
	produce(t, src, genRecords("ledger", 1, 130, 10))
	waitMirrored(t, m2, id, map[string][]int64{"ledger": {140, 140}})
	total := compareTopic(t, srcNode.KafkaAddr(), dstNode.KafkaAddr(), "ledger", 2, 0)
	if st := statusOf(t, m2, id); st.Records != int64(total) || st.State != "running" || st.Error != "" {
		t.Fatalf("status after crash resume = %+v, want %d records", st, total)
	}
	if got, ok := m2.Translate(id, "ledger", 1, 120); !ok || got != 120 {
		t.Fatalf("Translate after crash resume = %d, %v", got, ok)
	}
	stop2()

	// A checkpoint ahead of the destination: the destination lost records.
	var cp map[string]any
	b, err := os.ReadFile(checkpointFile(dir, id))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cp); err != nil {
		t.Fatal(err)
	}
	p0 := cp["partitions"].([]any)[0].(map[string]any)
	p0["next_source_offset"] = p0["next_source_offset"].(float64) + 1000
	p0["next_dest_offset"] = p0["next_dest_offset"].(float64) + 1000
	if b, err = json.Marshal(cp); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(checkpointFile(dir, id), b, 0o644); err != nil {
		t.Fatal(err)
	}
	m3, stop3 := runManager(t, dir, dstNode.KafkaAddr())
	waitFor(t, "mirror failed", func() (bool, string) {
		st := statusOf(t, m3, id)
		return st.State == "failed", st.State
	})
	if st := statusOf(t, m3, id); !strings.Contains(st.Error, "destination lost records") || !strings.Contains(st.Error, "ledger[0]") {
		t.Fatalf("error = %q, want destination lost records naming ledger[0]", st.Error)
	}
	stop3()
	m4, _ := runManager(t, dir, dstNode.KafkaAddr())
	if st := statusOf(t, m4, id); st.State != "failed" {
		t.Fatalf("failed mirror after reopen: state %q, want failed (not resumed)", st.State)
	}
}

// TestMirrorGroupOffsets translates committed source offsets (with a shifted mapping) and
// commits them on the destination, leaving groups with members alone and never moving a
// destination offset back.
func TestMirrorGroupOffsets(t *testing.T) {
	srcNode, dstNode := startNode(t), startNode(t)
	src := newClient(t, srcNode.KafkaAddr())
	dst := newClient(t, dstNode.KafkaAddr())
	createTopic(t, src, "orders", 1, nil)
	produce(t, src, genRecords("orders", 0, 0, 50))
	deleteRecordsBefore(t, src, "orders", 0, 10) // source log start 10: destination offsets are source-10

	commit(t, src, "billing", "orders", 0, 30)

	m, _ := runManager(t, t.TempDir(), dstNode.KafkaAddr())
	id := startMirror(t, m, srcNode.KafkaAddr(), "orders")
	waitMirrored(t, m, id, map[string][]int64{"orders": {50}})
	compareTopic(t, srcNode.KafkaAddr(), dstNode.KafkaAddr(), "orders", 1, 10)
	for _, tc := range []struct {
		off, want int64
		ok        bool
	}{{9, 0, false}, {10, 0, true}, {15, 5, true}, {50, 40, true}, {51, 0, false}} {
		if got, ok := m.Translate(id, "orders", 0, tc.off); ok != tc.ok || got != tc.want {
			t.Fatalf("Translate(%d) = %d, %v; want %d, %v", tc.off, got, ok, tc.want, tc.ok)
		}
	}
	waitFor(t, "billing offset translated", func() (bool, string) {
		got := fetchOffset(t, dst, "billing", "orders", 0)
		return got == 20, "billing at " + itoa(got)
	})

	// Destination group "busy" gets an active member.
	member := newClient(t, dstNode.KafkaAddr(), kgo.ConsumerGroup("busy"), kgo.ConsumeTopics("orders"), kgo.DisableAutoCommit())
	waitFor(t, "busy group stable on the destination", func() (bool, string) {
		member.PollRecords(shortCtx(t), 1)
		return groupState(t, dst, "busy") == "Stable", groupState(t, dst, "busy")
	})
	// Groups offsets move on: billing's destination offset is ahead of the translation
	// of its new source offset; marker proves a sync ran after these commits.
	commit(t, dst, "billing", "orders", 0, 39)
	commit(t, src, "billing", "orders", 0, 45) // translates to 35 < 39
	commit(t, src, "busy", "orders", 0, 48)
	commit(t, src, "marker", "orders", 0, 12)
	waitFor(t, "marker translated", func() (bool, string) {
		got := fetchOffset(t, dst, "marker", "orders", 0)
		return got == 2, "marker at " + itoa(got)
	})
	if got := fetchOffset(t, dst, "billing", "orders", 0); got != 39 {
		t.Fatalf("billing moved back to %d on the destination, want 39", got)
	}
	if got := fetchOffset(t, dst, "busy", "orders", 0); got == 38 {
		t.Fatalf("busy (members on the destination) got a translated commit: %d", got)
	}
	waitFor(t, "groups counted", func() (bool, string) {
		st := statusOf(t, m, id)
		return st.Groups == 2, "groups " + itoa(int64(st.Groups)) // billing and marker, not busy
	})
}

func shortCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(testCtx(t), 200*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func deleteRecordsBefore(t *testing.T, cl *kgo.Client, topic string, partition int32, offset int64) {
	t.Helper()
	req := kmsg.NewPtrDeleteRecordsRequest()
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Partition, rp.Offset = partition, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 10000
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode); err != nil {
		t.Fatalf("delete records: %v", err)
	}
}

func commit(t *testing.T, cl *kgo.Client, group, topic string, partition int32, offset int64) {
	t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.Generation = group, -1
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = partition, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode); err != nil {
		t.Fatalf("commit %s %s[%d]=%d: %v", group, topic, partition, offset, err)
	}
}

func fetchOffset(t *testing.T, cl *kgo.Client, group, topic string, partition int32) int64 {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic, rt.Partitions = topic, []int32{partition}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			return p.Offset
		}
	}
	return -1
}

func groupState(t *testing.T, cl *kgo.Client, group string) string {
	t.Helper()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Groups[0].State
}

// TestMirrorFailures covers the errors a caller or operator sees.
func TestMirrorFailures(t *testing.T) {
	srcNode, dstNode := startNode(t), startNode(t)
	src := newClient(t, srcNode.KafkaAddr())
	dst := newClient(t, dstNode.KafkaAddr())

	m, err := mirror.Open(mirror.Config{Dir: t.TempDir(), LocalBootstrap: dstNode.KafkaAddr()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(testCtx(t), srcNode.KafkaAddr(), ""); !errors.Is(err, mirror.ErrNotRunning) {
		t.Fatalf("Start before Run: %v, want ErrNotRunning", err)
	}
	if _, err := mirror.Open(mirror.Config{LocalBootstrap: "x:1"}); err == nil {
		t.Fatal("Open without Dir succeeded")
	}

	createTopic(t, src, "taken", 1, nil)  // destination already holds records
	createTopic(t, src, "wide", 2, nil)   // destination has more partitions
	createTopic(t, src, "narrow", 3, nil) // destination has fewer (empty): grows
	createTopic(t, src, "fine", 1, nil)   // no trouble
	createTopic(t, dst, "taken", 1, nil)
	createTopic(t, dst, "wide", 4, nil)
	createTopic(t, dst, "narrow", 1, nil)
	produce(t, dst, genRecords("taken", 0, 0, 3))
	for _, topic := range []string{"taken", "wide", "fine"} {
		produce(t, src, genRecords(topic, 0, 0, 10))
	}
	produce(t, src, genRecords("narrow", 2, 0, 10))

	m, _ = runManager(t, t.TempDir(), dstNode.KafkaAddr())
	startMirror(t, m, srcNode.KafkaAddr(), "fine") // wait until Run runs

	if _, err := m.Start(testCtx(t), srcNode.KafkaAddr(), "orders("); err == nil || !strings.Contains(err.Error(), "orders(") {
		t.Fatalf("bad regex: %v, want an error naming it", err)
	}
	ctx, cancel := context.WithTimeout(testCtx(t), 5*time.Second)
	defer cancel()
	dead := "127.0.0.1:" + itoa(int64(freePort(t)))
	if _, err := m.Start(ctx, dead, ""); err == nil || !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), dead) {
		t.Fatalf("unreachable source: %v, want an error naming it", err)
	}
	if err := m.Stop(testCtx(t), "mirror-99"); !errors.Is(err, mirror.ErrUnknownMirror) {
		t.Fatalf("Stop(mirror-99) = %v, want ErrUnknownMirror", err)
	}
	if got := len(m.Status()); got != 1 {
		t.Fatalf("%d mirrors after failed starts, want 1", got)
	}

	id := startMirror(t, m, srcNode.KafkaAddr(), "")
	waitMirrored(t, m, id, map[string][]int64{"narrow": {0, 0, 10}})
	waitFor(t, "topic errors reported", func() (bool, string) {
		st := statusOf(t, m, id)
		return strings.Contains(st.Error, "taken[0] already holds records") && strings.Contains(st.Error, "wide: the destination has 4 partitions but the source has 2"), st.Error
	})
	compareTopic(t, srcNode.KafkaAddr(), dstNode.KafkaAddr(), "narrow", 3, 0)
	st := statusOf(t, m, id)
	if st.State != "running" {
		t.Fatalf("state %q, want running (other topics are mirrored)", st.State)
	}
	for _, p := range st.Partitions {
		if p.Topic == "taken" || p.Topic == "wide" {
			t.Fatalf("failing topic %s is mirrored: %+v", p.Topic, p)
		}
	}
	if got := hwms(t, dst, "taken", 1)[0]; got != 3 {
		t.Fatalf("destination taken[0] has %d records, want its own 3", got)
	}
}

// TestMirrorFollowsNewTopicsAndPartitions: topics created and partitions added on the source
// while the mirror runs are mirrored too (the destination topic grows).
func TestMirrorFollowsNewTopicsAndPartitions(t *testing.T) {
	srcNode, dstNode := startNode(t), startNode(t)
	src := newClient(t, srcNode.KafkaAddr())
	createTopic(t, src, "metrics", 1, nil)
	produce(t, src, genRecords("metrics", 0, 0, 20))

	m, _ := runManager(t, t.TempDir(), dstNode.KafkaAddr())
	id := startMirror(t, m, srcNode.KafkaAddr(), "")
	waitMirrored(t, m, id, map[string][]int64{"metrics": {20}})

	createTopic(t, src, "late", 2, nil)
	produce(t, src, append(genRecords("late", 0, 0, 5), genRecords("late", 1, 0, 7)...))
	req := kmsg.NewPtrCreatePartitionsRequest()
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = "metrics", 3
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), src)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatalf("growing metrics: %v", err)
	}
	fresh := newClient(t, srcNode.KafkaAddr()) // src's producer still knows 1 partition
	produce(t, fresh, append(genRecords("metrics", 0, 20, 5), genRecords("metrics", 2, 0, 9)...))

	waitMirrored(t, m, id, map[string][]int64{"metrics": {25, 0, 9}, "late": {5, 7}})
	compareTopic(t, srcNode.KafkaAddr(), dstNode.KafkaAddr(), "metrics", 3, 0)
	compareTopic(t, srcNode.KafkaAddr(), dstNode.KafkaAddr(), "late", 2, 0)
}

// TestMirrorStartIsIdempotentAndResumesStopped: Start of a source and regex already mirrored
// returns the same mirror; after Stop, Start resumes it from its checkpoint (records produced
// meanwhile are copied, nothing twice).
func TestMirrorStartIsIdempotentAndResumesStopped(t *testing.T) {
	srcNode, dstNode := startNode(t), startNode(t)
	src := newClient(t, srcNode.KafkaAddr())
	createTopic(t, src, "orders", 2, nil)
	produce(t, src, append(genRecords("orders", 0, 0, 100), genRecords("orders", 1, 0, 50)...))

	m, _ := runManager(t, t.TempDir(), dstNode.KafkaAddr())
	id := startMirror(t, m, srcNode.KafkaAddr(), "orders")
	if again := startMirror(t, m, srcNode.KafkaAddr(), "orders"); again != id {
		t.Fatalf("second Start of the same mirror = %s, want %s", again, id)
	}
	waitMirrored(t, m, id, map[string][]int64{"orders": {100, 50}})
	if err := m.Stop(testCtx(t), id); err != nil {
		t.Fatal(err)
	}
	produce(t, src, append(genRecords("orders", 0, 100, 40), genRecords("orders", 1, 50, 30)...))
	if again := startMirror(t, m, srcNode.KafkaAddr(), "orders"); again != id {
		t.Fatalf("Start after Stop = %s, want the stopped %s resumed", again, id)
	}
	waitMirrored(t, m, id, map[string][]int64{"orders": {140, 80}})
	if total := compareTopic(t, srcNode.KafkaAddr(), dstNode.KafkaAddr(), "orders", 2, 0); total != 220 {
		t.Fatalf("%d records on the destination, want 220", total)
	}
	if st := m.Status(); len(st) != 1 || st[0].State != "running" || st[0].Records != 220 {
		t.Fatalf("status after the resume: %+v", st)
	}
}
