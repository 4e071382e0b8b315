package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// consumeAll reads topic/partition 0 from the beginning up to the high watermark.
func consumeAll(t *testing.T, addr, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin := newClient(t, addr)
	lo := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = topic
	lp := kmsg.NewListOffsetsRequestTopicPartition()
	lp.Timestamp = -1
	lt.Partitions = append(lt.Partitions, lp)
	lo.Topics = append(lo.Topics, lt)
	resp, err := lo.RequestWith(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
		t.Fatalf("list offsets %s: %v", topic, err)
	}
	hwm := p.Offset
	if hwm == 0 {
		return nil
	}
	cl := newClient(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	var recs []*kgo.Record
	for int64(len(recs)) < hwm {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records of %s before timeout", len(recs), hwm, topic)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		recs = append(recs, fs.Records()...)
	}
	return recs
}

// TestCrashKeepsAcknowledgedRecords kills the broker with SIGKILL while an idempotent
// acks=all producer is running, restarts it and checks that every acknowledged record is
// there exactly once and offsets are contiguous.
func TestCrashKeepsAcknowledgedRecords(t *testing.T) {
	p := startServer(t, t.TempDir())
	const topic = "crash"
	cl := newClient(t, p.kafkaAddr(), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordRetries(3),
		kgo.ProducerLinger(time.Millisecond), kgo.RecordDeliveryTimeout(5*time.Second))

	var (
		mu    sync.Mutex
		acked = map[string]bool{}
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	killAt := 3000
	killed := make(chan struct{})
	var killOnce sync.Once
	for i := 0; ctx.Err() == nil && i < 200000; i++ {
		v := strconv.Itoa(i)
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Value: []byte(v)}, func(r *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				return
			}
			mu.Lock()
			acked[string(r.Value)] = true
			n := len(acked)
			mu.Unlock()
			if n >= killAt {
				killOnce.Do(func() { p.kill(); close(killed) })
			}
		})
		select {
		case <-killed:
			cancel()
		default:
		}
	}
	<-killed
	cl.Close() // fails whatever is still buffered
	wg.Wait()

	p.restart()
	recs := consumeAll(t, p.kafkaAddr(), topic)
	seen := map[string]bool{}
	for i, r := range recs {
		if r.Offset != int64(i) {
			t.Fatalf("offsets not contiguous: record %d has offset %d", i, r.Offset)
		}
		if seen[string(r.Value)] {
			t.Fatalf("record %q stored twice (second at offset %d)", r.Value, r.Offset)
		}
		seen[string(r.Value)] = true
	}
	var missing []string
	for v := range acked {
		if !seen[v] {
			missing = append(missing, v)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("%d acknowledged records lost after kill -9, e.g. %v", len(missing), missing[:min(10, len(missing))])
	}
	t.Logf("acknowledged %d, stored %d after kill -9", len(acked), len(recs))
}

// TestRestartKeepsGroupOffsetsAndProducerSequences stops the broker cleanly and checks that
// committed group offsets and idempotent-producer sequence state come back.
func TestRestartKeepsGroupOffsetsAndProducerSequences(t *testing.T) {
	p := startServer(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const topic, group = "restart", "restart-group"

	cl := newClient(t, p.kafkaAddr())
	for i := 0; i < 10; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(fmt.Sprint(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	commitOffset(ctx, t, cl, group, topic, 7)

	// An idempotent batch with an explicit producer id and sequence 0.
	pid, epoch := initProducerID(ctx, t, cl)
	batch := idempotentBatch(t, pid, epoch, 0, "dedup-me")
	first := produceRaw(ctx, t, cl, topic, batch)
	cl.Close()

	if err := p.stop(); err != nil {
		t.Fatalf("clean stop: %v", err)
	}
	p.restart()

	cl2 := newClient(t, p.kafkaAddr())
	if got := fetchOffset(ctx, t, cl2, group, topic); got != 7 {
		t.Fatalf("committed offset after restart = %d, want 7", got)
	}
	again := produceRaw(ctx, t, cl2, topic, idempotentBatch(t, pid, epoch, 0, "dedup-me"))
	if again != first {
		t.Fatalf("retried idempotent batch after restart got offset %d, want the original %d (duplicate suppressed)", again, first)
	}
	recs := consumeAll(t, p.kafkaAddr(), topic)
	if len(recs) != 11 {
		t.Fatalf("after restart and a duplicate retry the log has %d records, want 11", len(recs))
	}
}

func commitOffset(ctx context.Context, t *testing.T, cl *kgo.Client, group, topic string, offset int64) {
	t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group = group
	req.Generation = -1
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition = 0
	rp.Offset = offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode); err != nil {
		t.Fatalf("offset commit: %v", err)
	}
}

func fetchOffset(ctx context.Context, t *testing.T, cl *kgo.Client, group, topic string) int64 {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	rt.Partitions = []int32{0}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	return resp.Topics[0].Partitions[0].Offset
}

func initProducerID(ctx context.Context, t *testing.T, cl *kgo.Client) (int64, int16) {
	t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionTimeoutMillis = 60000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		t.Fatalf("init producer id: %v", err)
	}
	return resp.ProducerID, resp.ProducerEpoch
}

// idempotentBatch builds a one-record Kafka RecordBatch with kmsg and a valid CRC-32C.
func idempotentBatch(t *testing.T, pid int64, epoch int16, seq int32, value string) []byte {
	t.Helper()
	rec := kmsg.Record{Value: []byte(value)}
	// Length counts the bytes after the length varint: encode once with 0 (one byte) to measure.
	rec.Length = int32(len(rec.AppendTo(nil)) - 1)
	recBytes := rec.AppendTo(nil)
	now := time.Now().UnixMilli()
	b := kmsg.RecordBatch{
		Magic: 2, LastOffsetDelta: 0, FirstTimestamp: now, MaxTimestamp: now,
		ProducerID: pid, ProducerEpoch: epoch, FirstSequence: seq, NumRecords: 1, Records: recBytes,
	}
	raw := b.AppendTo(nil)
	// batch_length counts the bytes after itself; the CRC-32C covers attributes to the end.
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

func produceRaw(ctx context.Context, t *testing.T, cl *kgo.Client, topic string, batch []byte) int64 {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	req.TimeoutMillis = 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = 0
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	pr := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(pr.ErrorCode); err != nil {
		t.Fatalf("produce: %v", err)
	}
	return pr.BaseOffset
}

// TestCorruptSegmentRefusedOnStart flips a byte in the middle of a partition segment: the
// broker must refuse to start and name the segment and byte offset.
func TestCorruptSegmentRefusedOnStart(t *testing.T) {
	dir := t.TempDir()
	p := startServer(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := newClient(t, p.kafkaAddr())
	for i := 0; i < 20; i++ { // twenty separate WAL records
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "corrupt", Value: []byte(strings.Repeat("x", 100))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	seg := filepath.Join(dir, "wal", "corrupt", "0", "wal_0_00000001.log")
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	mid := len(data) / 2
	data[mid] ^= 0xFF
	if err := os.WriteFile(seg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.launch(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("broker started on a corrupt segment")
	}
	var exitErr interface{ ExitCode() int }
	if !errors.As(p.waitErr, &exitErr) || exitErr.ExitCode() == 0 {
		t.Fatalf("broker exit = %v, want a non-zero exit", p.waitErr)
	}
	out := p.logs.String()
	if !strings.Contains(out, seg) || !strings.Contains(out, "offset") {
		t.Fatalf("refusal does not name the segment %s and offset:\n%s", seg, out)
	}
}
