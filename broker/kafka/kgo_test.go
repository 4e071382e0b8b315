package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newKgoClient(t *testing.T, b *testBroker, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.addr), kgo.ClientID("kgo-test")}, opts...)...)
	if err != nil {
		t.Fatalf("new kgo client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// TestFranzGoEndToEnd drives the server with the franz-go client: topic creation, produce
// with every codec, consume, a consumer group with commits, and ListOffsets.
func TestFranzGoEndToEnd(t *testing.T) {
	b := startBroker(t, func(c *Config) { c.AutoCreateTopics = false })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := newKgoClient(t, b)

	codecs := []struct {
		name  string
		codec kgo.CompressionCodec
	}{
		{"none", kgo.NoCompression()},
		{"gzip", kgo.GzipCompression()},
		{"snappy", kgo.SnappyCompression()},
		{"lz4", kgo.Lz4Compression()},
		{"zstd", kgo.ZstdCompression()},
	}
	const perCodec = 50
	const topic = "e2e"

	create := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = topic, 3, 1
	create.Topics = append(create.Topics, ct)
	cresp, err := create.RequestWith(ctx, admin)
	if err != nil {
		t.Fatalf("create topics: %v", err)
	}
	if code := cresp.Topics[0].ErrorCode; code != 0 {
		t.Fatalf("create topic: %v", kerr.ErrorForCode(code))
	}

	want := map[string]bool{}
	for _, c := range codecs {
		p := newKgoClient(t, b, kgo.ProducerBatchCompression(c.codec), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic(topic))
		var recs []*kgo.Record
		for i := 0; i < perCodec; i++ {
			v := fmt.Sprintf("%s-%03d", c.name, i)
			want[v] = true
			recs = append(recs, &kgo.Record{Key: []byte(v), Value: []byte(v)})
		}
		if err := p.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("produce with %s: %v", c.name, err)
		}
	}
	total := len(want)

	// Plain consumer from the start.
	direct := newKgoClient(t, b, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := consumeN(ctx, t, direct, total)
	for v := range want {
		if !got[v] {
			t.Fatalf("value %s not consumed", v)
		}
	}

	// Group consumer with explicit commits.
	const group = "e2e-group"
	gc := newKgoClient(t, b, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	seen := 0
	for seen < total {
		fs := gc.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("group consume: %d of %d records: %v", seen, total, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("group fetch %s/%d: %v", topic, p, err) })
		seen += fs.NumRecords()
		if err := gc.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}

	// Committed offsets equal the high watermarks; ListOffsets agrees.
	lo := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = topic
	for p := int32(0); p < 3; p++ {
		lp := kmsg.NewListOffsetsRequestTopicPartition()
		lp.Partition, lp.Timestamp = p, -1
		lt.Partitions = append(lt.Partitions, lp)
	}
	lo.Topics = append(lo.Topics, lt)
	loResp, err := lo.RequestWith(ctx, admin)
	if err != nil {
		t.Fatalf("list offsets: %v", err)
	}
	var sum int64
	hwm := map[int32]int64{}
	for _, p := range loResp.Topics[0].Partitions {
		if p.ErrorCode != 0 {
			t.Fatalf("list offsets partition %d: %v", p.Partition, kerr.ErrorForCode(p.ErrorCode))
		}
		hwm[p.Partition] = p.Offset
		sum += p.Offset
	}
	if sum != int64(total) {
		t.Fatalf("high watermarks sum to %d, want %d", sum, total)
	}
	of := kmsg.NewPtrOffsetFetchRequest()
	of.Group = group
	ofResp, err := of.RequestWith(ctx, admin)
	if err != nil || ofResp.ErrorCode != 0 {
		t.Fatalf("offset fetch: %v / %d", err, ofResp.ErrorCode)
	}
	committed := 0
	for _, tp := range ofResp.Topics {
		for _, p := range tp.Partitions {
			if tp.Topic == topic && p.Offset == hwm[p.Partition] {
				committed++
			}
		}
	}
	if committed != 3 {
		t.Fatalf("committed offsets %+v do not match high watermarks %v", ofResp.Topics, hwm)
	}
	gc.Close() // leaves the group

	lg := kmsg.NewPtrListGroupsRequest()
	lgResp, err := lg.RequestWith(ctx, admin)
	if err != nil {
		t.Fatalf("list groups: %v", err)
	}
	found := false
	for _, g := range lgResp.Groups {
		found = found || g.Group == group
	}
	if !found {
		t.Fatalf("group %s not listed: %+v", group, lgResp.Groups)
	}
}

// consumeN polls until n records arrived and returns their values.
func consumeN(ctx context.Context, t *testing.T, cl *kgo.Client, n int) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	count := 0
	for count < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", count, n, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			count++
			got[string(r.Value)] = true
		})
	}
	return got
}

// TestFranzGoAutoCreateAndIdempotence produces to a missing topic with auto-creation on (the
// client's Metadata request allows it) using franz-go's idempotent producer.
func TestFranzGoAutoCreateAndIdempotence(t *testing.T) {
	b := startBroker(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := newKgoClient(t, b, kgo.DefaultProduceTopic("auto-created"), kgo.AllowAutoTopicCreation())
	for i := 0; i < 20; i++ {
		if err := p.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "v%d", i)}).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	tp, ok := b.meta.Topic("auto-created")
	if !ok || tp.Partitions != 1 {
		t.Fatalf("auto-created topic: %+v %v", tp, ok)
	}
	c := newKgoClient(t, b, kgo.ConsumeTopics("auto-created"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if got := consumeN(ctx, t, c, 20); len(got) != 20 {
		t.Fatalf("consumed %d distinct values", len(got))
	}
}
