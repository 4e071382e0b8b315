package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-stream/chronik/broker/config"
	"github.com/chronik-stream/chronik/broker/node"
	"github.com/chronik-stream/chronik/broker/walmigrate"
	"github.com/chronik-stream/chronik/walcodec"
)

// The migration tests build a realistic v1.x data directory once per test
// (a node with wal_format = 2 fed by franz-go: three topics, every
// compression codec, keys, headers, timestamps, idempotent producers and
// committed group offsets), take a client-side snapshot of everything, and
// check that each upgrade path brings back exactly that snapshot.

const migToken = "migration-token"

// migTopics are the fixture's topics: partitions and topic configs. Small
// segment.bytes give every partition several segments.
var migTopics = []struct {
	name       string
	partitions int32
	configs    map[string]string
}{
	{"orders", 3, map[string]string{"segment.bytes": "2048", "retention.ms": "-1"}},
	{"events", 2, map[string]string{"segment.bytes": "4096"}},
	{"logs", 1, nil},
}

// migRecord is one consumed record.
type migRecord struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Value     string
	Headers   string
	Timestamp int64
}

// migSnapshot is everything a client can see of the fixture's data.
type migSnapshot struct {
	Topics  map[string]int32             // partitions
	Configs map[string]map[string]string // topic → segment.bytes, retention.ms
	Start   map[string]int64             // "topic/p" → log start offset
	HWM     map[string]int64             // "topic/p" → high watermark
	Records []migRecord
	Groups  map[string]map[string]string // group → "topic/p" → "offset metadata"
}

// migFixture is a stopped v1.x data directory and what it holds.
type migFixture struct {
	dir      string
	snap     migSnapshot
	segments int // segment files under wal/
	// the raw idempotent producer's last batch (pid, epoch, seq) on logs/0
	pid      int64
	epoch    int16
	lastSeq  int32
	lastOff  int64
	lastBody string
}

func migConfig(t *testing.T, dataDir string, format uint8) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.BindHost = "127.0.0.1"
	cfg.KafkaPort = freePort(t)
	cfg.HTTPPort = freePort(t)
	cfg.Cluster.NodeAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg.WALFormat = format
	cfg.AdminToken = migToken
	cfg.AutoCreateTopics = false
	return cfg
}

// migStart starts a node in-process; logs go to logw (nil: discarded).
func migStart(t *testing.T, dataDir string, format uint8, logw io.Writer) *node.Node {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	if logw != nil {
		logger = slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	n, err := node.Start(context.Background(), migConfig(t, dataDir, format), logger)
	if err != nil {
		t.Fatalf("start on %s: %v", dataDir, err)
	}
	t.Cleanup(func() { _ = n.Shutdown(context.Background()) })
	return n
}

func migClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// migBuild creates the v1.x fixture in a new temp dir.
func migBuild(t *testing.T) *migFixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fx := &migFixture{dir: filepath.Join(t.TempDir(), "v1")}
	n := migStart(t, fx.dir, walcodec.V2, nil)
	admin := migClient(t, n.KafkaAddr())

	create := kmsg.NewPtrCreateTopicsRequest()
	for _, tp := range migTopics {
		ct := kmsg.NewCreateTopicsRequestTopic()
		ct.Topic, ct.NumPartitions, ct.ReplicationFactor = tp.name, tp.partitions, 1
		for k, v := range tp.configs {
			c := kmsg.NewCreateTopicsRequestTopicConfig()
			c.Name, c.Value = k, kmsg.StringPtr(v)
			ct.Configs = append(ct.Configs, c)
		}
		create.Topics = append(create.Topics, ct)
	}
	cresp, err := create.RequestWith(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range cresp.Topics {
		if err := kerr.ErrorForCode(tr.ErrorCode); err != nil {
			t.Fatalf("create topic %s: %v", tr.Topic, err)
		}
	}

	codecs := []struct {
		name  string
		codec kgo.CompressionCodec
	}{
		{"none", kgo.NoCompression()}, {"gzip", kgo.GzipCompression()}, {"snappy", kgo.SnappyCompression()},
		{"lz4", kgo.Lz4Compression()}, {"zstd", kgo.ZstdCompression()},
	}
	ts := time.UnixMilli(1700000000000)
	for ci, c := range codecs {
		// kgo producers are idempotent by default (acks=all).
		p := migClient(t, n.KafkaAddr(), kgo.ProducerBatchCompression(c.codec), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		var recs []*kgo.Record
		for _, tp := range migTopics {
			for part := int32(0); part < tp.partitions; part++ {
				for i := 0; i < 8; i++ {
					r := &kgo.Record{
						Topic:     tp.name,
						Partition: part,
						Key:       []byte(fmt.Sprintf("%s-%d-%s-%d", tp.name, part, c.name, i)),
						Value:     []byte(strings.Repeat(fmt.Sprintf("%s/%d/%s/%d;", tp.name, part, c.name, i), 1+i*7)),
						Timestamp: ts.Add(time.Duration(ci*100+i) * time.Millisecond),
					}
					if i%2 == 0 {
						r.Headers = []kgo.RecordHeader{{Key: "codec", Value: []byte(c.name)}, {Key: "i", Value: []byte(fmt.Sprint(i))}}
					}
					if i == 5 {
						r.Key = nil // null key
					}
					recs = append(recs, r)
				}
			}
		}
		if err := p.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("produce with %s: %v", c.name, err)
		}
	}

	// A raw idempotent producer on logs/0: its last batch must still be
	// recognised as a duplicate after every migration path.
	fx.pid, fx.epoch = migInitProducerID(ctx, t, admin)
	for seq := int32(0); seq < 3; seq++ {
		fx.lastSeq, fx.lastBody = seq, fmt.Sprintf("idempotent-%d", seq)
		off, err := migProduceRaw(ctx, admin, "logs", migIdempotentBatch(fx.pid, fx.epoch, seq, fx.lastBody))
		if err != nil {
			t.Fatal(err)
		}
		fx.lastOff = off
	}

	migCommit(ctx, t, admin, "g1", map[string]int64{"orders/0": 5, "orders/1": 17, "orders/2": 40}, "meta-g1")
	migCommit(ctx, t, admin, "g2", map[string]int64{"events/0": 3, "logs/0": 12}, "")

	fx.snap = migSnap(t, n.KafkaAddr())
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	segs := migSegments(t, filepath.Join(fx.dir, "wal"))
	fx.segments = len(segs)
	for _, s := range segs {
		if m := migMagic(t, s); m != "WAL2" {
			t.Fatalf("fixture segment %s starts with %q, want WAL2", s, m)
		}
	}
	if fx.segments < 15 {
		t.Fatalf("fixture has only %d segments", fx.segments)
	}
	return fx
}

// copyTo copies the fixture's data dir to a new temp dir.
func (fx *migFixture) copyTo(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "data")
	err := filepath.WalkDir(fx.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(fx.dir, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// check compares a running node with the fixture's snapshot, then checks
// that the idempotent producer's last batch is still a duplicate and the
// next sequence is accepted.
func (fx *migFixture) check(t *testing.T, n *node.Node) {
	t.Helper()
	got := migSnap(t, n.KafkaAddr())
	migEqual(t, got, fx.snap)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := migClient(t, n.KafkaAddr())
	off, err := migProduceRaw(ctx, cl, "logs", migIdempotentBatch(fx.pid, fx.epoch, fx.lastSeq, fx.lastBody))
	if err != nil || off != fx.lastOff {
		t.Fatalf("re-sending the last idempotent batch: offset %d, %v; want the duplicate's offset %d", off, err, fx.lastOff)
	}
	if _, err := migProduceRaw(ctx, cl, "logs", migIdempotentBatch(fx.pid, fx.epoch, fx.lastSeq+2, "gap")); !errors.Is(err, kerr.OutOfOrderSequenceNumber) {
		t.Fatalf("a sequence gap after the migration: %v, want OUT_OF_ORDER_SEQUENCE_NUMBER", err)
	}
	hwm := fx.snap.HWM["logs/0"]
	if off, err := migProduceRaw(ctx, cl, "logs", migIdempotentBatch(fx.pid, fx.epoch, fx.lastSeq+1, "next")); err != nil || off != hwm {
		t.Fatalf("the next idempotent batch: offset %d, %v; want %d", off, err, hwm)
	}
}

func migEqual(t *testing.T, got, want migSnapshot) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	for _, f := range []struct {
		name string
		a, b any
	}{{"topics", got.Topics, want.Topics}, {"configs", got.Configs, want.Configs}, {"log starts", got.Start, want.Start},
		{"high watermarks", got.HWM, want.HWM}, {"groups", got.Groups, want.Groups}} {
		if !reflect.DeepEqual(f.a, f.b) {
			t.Errorf("%s differ:\n got %v\nwant %v", f.name, f.a, f.b)
		}
	}
	if len(got.Records) != len(want.Records) {
		t.Fatalf("%d records, want %d", len(got.Records), len(want.Records))
	}
	for i := range got.Records {
		if got.Records[i] != want.Records[i] {
			t.Fatalf("record %d differs:\n got %+v\nwant %+v", i, got.Records[i], want.Records[i])
		}
	}
	t.FailNow()
}

// migSnap reads everything a client can see: topics, configs, offsets,
// every record and every group's committed offsets.
func migSnap(t *testing.T, addr string) migSnapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := migClient(t, addr)
	s := migSnapshot{Topics: map[string]int32{}, Configs: map[string]map[string]string{}, Start: map[string]int64{},
		HWM: map[string]int64{}, Groups: map[string]map[string]string{}}

	md, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, mt := range md.Topics {
		if mt.Topic == nil {
			continue
		}
		s.Topics[*mt.Topic] = int32(len(mt.Partitions))
	}

	dc := kmsg.NewPtrDescribeConfigsRequest()
	for name := range s.Topics {
		r := kmsg.NewDescribeConfigsRequestResource()
		r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeTopic, name
		r.ConfigNames = []string{"segment.bytes", "retention.ms"}
		dc.Resources = append(dc.Resources, r)
	}
	dresp, err := dc.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range dresp.Resources {
		m := map[string]string{}
		for _, c := range r.Configs {
			if c.Value != nil {
				m[c.Name] = *c.Value
			}
		}
		s.Configs[r.ResourceName] = m
	}

	consume := map[string]map[int32]kgo.Offset{}
	var want int64
	for _, ts := range []int64{-2, -1} {
		lo := kmsg.NewPtrListOffsetsRequest()
		for name, parts := range s.Topics {
			lt := kmsg.NewListOffsetsRequestTopic()
			lt.Topic = name
			for p := int32(0); p < parts; p++ {
				lp := kmsg.NewListOffsetsRequestTopicPartition()
				lp.Partition, lp.Timestamp = p, ts
				lt.Partitions = append(lt.Partitions, lp)
			}
			lo.Topics = append(lo.Topics, lt)
		}
		resp, err := lo.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
					t.Fatalf("list offsets %s/%d: %v", rt.Topic, rp.Partition, err)
				}
				key := fmt.Sprintf("%s/%d", rt.Topic, rp.Partition)
				if ts == -2 {
					s.Start[key] = rp.Offset
				} else {
					s.HWM[key] = rp.Offset
					want += rp.Offset - s.Start[key]
					if consume[rt.Topic] == nil {
						consume[rt.Topic] = map[int32]kgo.Offset{}
					}
					consume[rt.Topic][rp.Partition] = kgo.NewOffset().At(s.Start[key])
				}
			}
		}
	}

	if want > 0 {
		c := migClient(t, addr, kgo.ConsumePartitions(consume), kgo.FetchMaxWait(200*time.Millisecond))
		for int64(len(s.Records)) < want {
			fs := c.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("consumed %d of %d records", len(s.Records), want)
			}
			fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
			fs.EachRecord(func(r *kgo.Record) {
				var hs []string
				for _, h := range r.Headers {
					hs = append(hs, h.Key+"="+string(h.Value))
				}
				key := "<null>"
				if r.Key != nil {
					key = string(r.Key)
				}
				s.Records = append(s.Records, migRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: key,
					Value: string(r.Value), Headers: strings.Join(hs, ","), Timestamp: r.Timestamp.UnixMilli()})
			})
		}
		sort.Slice(s.Records, func(i, j int) bool {
			a, b := s.Records[i], s.Records[j]
			if a.Topic != b.Topic {
				return a.Topic < b.Topic
			}
			if a.Partition != b.Partition {
				return a.Partition < b.Partition
			}
			return a.Offset < b.Offset
		})
	}

	lg, err := kmsg.NewPtrListGroupsRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range lg.Groups {
		of := kmsg.NewPtrOffsetFetchRequest()
		of.Group = g.Group
		resp, err := of.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				meta := ""
				if rp.Metadata != nil {
					meta = *rp.Metadata
				}
				m[fmt.Sprintf("%s/%d", rt.Topic, rp.Partition)] = fmt.Sprintf("%d %s", rp.Offset, meta)
			}
		}
		s.Groups[g.Group] = m
	}
	return s
}

func migCommit(ctx context.Context, t *testing.T, cl *kgo.Client, group string, offs map[string]int64, metadata string) {
	t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.Generation = group, -1
	byTopic := map[string]*kmsg.OffsetCommitRequestTopic{}
	keys := make([]string, 0, len(offs))
	for k := range offs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var topic string
		var part int32
		if _, err := fmt.Sscanf(strings.Replace(k, "/", " ", 1), "%s %d", &topic, &part); err != nil {
			t.Fatal(err)
		}
		rt := byTopic[topic]
		if rt == nil {
			req.Topics = append(req.Topics, kmsg.NewOffsetCommitRequestTopic())
			rt = &req.Topics[len(req.Topics)-1]
			rt.Topic = topic
			byTopic = map[string]*kmsg.OffsetCommitRequestTopic{topic: rt}
		}
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.Metadata = part, offs[k], kmsg.StringPtr(metadata)
		rt.Partitions = append(rt.Partitions, rp)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
				t.Fatalf("commit %s %s/%d: %v", group, rt.Topic, rp.Partition, err)
			}
		}
	}
}

func migInitProducerID(ctx context.Context, t *testing.T, cl *kgo.Client) (int64, int16) {
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

// migIdempotentBatch is a one-record idempotent RecordBatch (valid CRC-32C).
func migIdempotentBatch(pid int64, epoch int16, seq int32, value string) []byte {
	rec := kmsg.Record{Value: []byte(value)}
	rec.Length = int32(len(rec.AppendTo(nil)) - 1)
	b := kmsg.RecordBatch{Magic: 2, FirstTimestamp: 1700000001000, MaxTimestamp: 1700000001000, PartitionLeaderEpoch: -1,
		ProducerID: pid, ProducerEpoch: epoch, FirstSequence: seq, NumRecords: 1, Records: rec.AppendTo(nil)}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

// migProduceRaw sends one batch to topic partition 0 with acks=all.
func migProduceRaw(ctx context.Context, cl *kgo.Client, topic string, batch []byte) (int64, error) {
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, err
	}
	pr := resp.Topics[0].Partitions[0]
	return pr.BaseOffset, kerr.ErrorForCode(pr.ErrorCode)
}

func migSegments(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if _, _, ok := walcodec.ParseSegmentName(d.Name()); ok {
				out = append(out, p)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func migMagic(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [4]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return ""
	}
	return string(b[:])
}

func migHashes(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[p] = fmt.Sprintf("%08x/%d", crc32.ChecksumIEEE(b), len(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigrationPaths drives the guide's upgrade paths on one v1.x fixture.
func TestMigrationPaths(t *testing.T) {
	fx := migBuild(t)

	t.Run("offline migrate-wal then start", func(t *testing.T) {
		data := fx.copyTo(t)
		in, out := filepath.Join(data, "wal"), filepath.Join(data, "wal-v3")
		before := migHashes(t, in)
		text, err := runRoot("migrate-wal", "--input", in, "--output", out, "--workers", "2")
		if err != nil {
			t.Fatalf("migrate-wal: %v\n%s", err, text)
		}
		t.Logf("migrate-wal output:\n%s", text)
		for _, want := range []string{
			fmt.Sprintf("[INFO] Found %d V2 WAL segments\n", fx.segments),
			"[INFO] Converting with 2 workers\n",
			fmt.Sprintf("[INFO] Progress: %d/%d segments (100.0%%)\n", fx.segments, fx.segments),
			fmt.Sprintf("[INFO] Migration complete: %d segments, 0 errors\n", fx.segments),
			"[INFO] Output: " + out + "\n",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("output lacks %q", want)
			}
		}
		if n := len(regexp.MustCompile(`(?m)^\[INFO\] Progress: \d+/\d+ segments \(\d+\.\d%\)$`).FindAllString(text, -1)); n < 10 {
			t.Errorf("%d progress lines, want one per 10%%", n)
		}
		if after := migHashes(t, in); !reflect.DeepEqual(before, after) {
			t.Fatalf("migrate-wal modified its input")
		}
		segs := migSegments(t, out)
		if len(segs) != fx.segments {
			t.Fatalf("%d output segments, want %d", len(segs), fx.segments)
		}
		for _, s := range segs {
			if m := migMagic(t, s); m != "WAL3" {
				t.Fatalf("%s starts with %q, want WAL3", s, m)
			}
		}
		// The guide's swap: mv wal wal-v2-backup; mv wal-v3 wal.
		if err := os.Rename(in, filepath.Join(data, "wal-v2-backup")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(out, in); err != nil {
			t.Fatal(err)
		}
		var logs syncBuffer
		n := migStart(t, data, walcodec.V3, &logs)
		if strings.Contains(logs.String(), "WAL migration started") {
			t.Fatalf("a start on a migrated WAL converted again:\n%s", logs.String())
		}
		fx.check(t, n)
	})

	t.Run("start with wal_format 3 converts in place", func(t *testing.T) {
		data := fx.copyTo(t)
		var logs syncBuffer
		n := migStart(t, data, walcodec.V3, &logs)
		text := logs.String()
		for _, re := range []string{
			`level=INFO msg="WAL migration started"`,
			fmt.Sprintf(`level=INFO msg="Found %d V2 WAL segments"`, fx.segments),
			regexp.QuoteMeta(fmt.Sprintf(`level=INFO msg="Converting segment 0/%d: %s"`, fx.segments, filepath.Join(data, "wal", "__meta", "wal_0_00000001.log"))),
			`level=INFO msg="Converted \d+ records \(V2 → V3\)"`,
			`level=INFO msg="WAL migration complete \(took \d+\.\ds\)"`,
		} {
			if !regexp.MustCompile(re).MatchString(text) {
				t.Errorf("start log lacks %s", re)
			}
		}
		var lines []string
		for _, l := range strings.Split(text, "\n") {
			if strings.Contains(l, "WAL migration") || strings.Contains(l, "WAL segments") || strings.Contains(l, "segment 0/") || strings.Contains(l, "Converted ") {
				lines = append(lines, l)
			}
		}
		t.Logf("start log:\n%s", strings.Join(lines, "\n"))
		fx.check(t, n)
		if err := n.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, s := range migSegments(t, filepath.Join(data, "wal")) {
			if m := migMagic(t, s); m != "WAL3" {
				t.Fatalf("%s starts with %q after the in-place migration", s, m)
			}
		}
		// The rollback guard: v1.x can no longer read this directory, and says so.
		out, err := runRoot("debug", "wal-verify", "--v2-only", "--path", filepath.Join(data, "wal"))
		want := fmt.Sprintf("WAL3 record at %s offset 0: written by v2.x, this build reads only V2; to roll back to v1.x restore the backup taken before the upgrade (see docs/migration.md)",
			filepath.Join(data, "wal", "__meta", "wal_0_00000001.log"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("wal-verify --v2-only on a V3 dir: %v\n%s", err, out)
		}
		t.Logf("wal-verify --v2-only output:\n%s", firstLines(out, 3))
	})

	t.Run("wal_format 2 keeps v1 compatibility", func(t *testing.T) {
		data := fx.copyTo(t)
		n := migStart(t, data, walcodec.V2, nil)
		migEqual(t, migSnap(t, n.KafkaAddr()), fx.snap)
		cl := migClient(t, n.KafkaAddr())
		if _, err := migProduceRaw(context.Background(), cl, "orders", migIdempotentBatch(-1, -1, -1, "after")); err != nil {
			t.Fatal(err)
		}
		if err := n.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, s := range migSegments(t, filepath.Join(data, "wal")) {
			if m := migMagic(t, s); m != "WAL2" {
				t.Fatalf("%s starts with %q with wal_format = 2", s, m)
			}
		}
		if out, err := runRoot("debug", "wal-verify", "--v2-only", "--path", filepath.Join(data, "wal")); err != nil {
			t.Fatalf("a v1.x reader would refuse the data: %v\n%s", err, out)
		}
	})

	t.Run("corrupt segment", func(t *testing.T) {
		data := fx.copyTo(t)
		in := filepath.Join(data, "wal")
		seg, recOff := migCorrupt(t, filepath.Join(in, "logs", "0"))
		text, err := runRoot("migrate-wal", "--input", in, "--output", filepath.Join(data, "out1"), "--workers", "2")
		want := fmt.Sprintf("[ERROR] WAL migration failed: InvalidChecksum at offset %d in %s", recOff, seg)
		if err == nil || !strings.Contains(text, want) {
			t.Fatalf("migrate-wal on a corrupt segment: %v, output lacks %q:\n%s", err, want, text)
		}
		t.Logf("migrate-wal output:\n%s", text)
		text, err = runRoot("migrate-wal", "--input", in, "--output", filepath.Join(data, "out2"), "--workers", "2", "--skip-errors")
		if err != nil || !strings.Contains(text, fmt.Sprintf("[INFO] Migration complete: %d segments, 1 errors\n", fx.segments)) ||
			!strings.Contains(text, fmt.Sprintf("[WARN] Skipped damaged data in %s: InvalidChecksum at offset %d", seg, recOff)) {
			t.Fatalf("migrate-wal --skip-errors: %v\n%s", err, text)
		}
		t.Logf("migrate-wal --skip-errors output:\n%s", text)
	})

	t.Run("interrupted migration resumes", func(t *testing.T) {
		data := fx.copyTo(t)
		in, out := filepath.Join(data, "wal"), filepath.Join(data, "wal-v3")
		ctx, cancel := context.WithCancel(context.Background())
		_, err := walmigrate.Migrate(ctx, walmigrate.Options{Input: in, Output: out, Workers: 2, Progress: func(p walmigrate.Progress) {
			if p.Done == fx.segments/2 {
				cancel()
			}
		}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted migration: %v", err)
		}
		text, err := runRoot("migrate-wal", "--input", in, "--output", out, "--workers", "2")
		if err != nil || !strings.Contains(text, "[INFO] Resuming: ") || !strings.Contains(text, fmt.Sprintf("Migration complete: %d segments, 0 errors", fx.segments)) {
			t.Fatalf("rerun: %v\n%s", err, text)
		}
		if err := os.Rename(in, filepath.Join(data, "wal-v2")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(out, in); err != nil {
			t.Fatal(err)
		}
		fx.check(t, migStart(t, data, walcodec.V3, nil))
	})

	t.Run("migrate-wal refuses a running broker's WAL", func(t *testing.T) {
		data := fx.copyTo(t)
		migStart(t, data, walcodec.V2, nil)
		_, err := runRoot("migrate-wal", "--input", filepath.Join(data, "wal"), "--output", filepath.Join(t.TempDir(), "o"))
		if err == nil || !strings.Contains(err.Error(), "is in use by a running broker") {
			t.Fatalf("migrating a running broker's WAL: %v", err)
		}
	})
}

// migCorrupt flips a byte in the second record of the first segment of dir
// and returns the segment and that record's byte offset.
func migCorrupt(t *testing.T, dir string) (string, int64) {
	t.Helper()
	segs := migSegments(t, dir)
	b, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	_, n, err := walcodec.DecodeRecord(b, walcodec.ReadAny)
	if err != nil {
		t.Fatal(err)
	}
	if n+walcodec.HeaderSize+30 >= len(b) {
		t.Fatalf("%s holds one record only", segs[0])
	}
	b[n+walcodec.HeaderSize+30] ^= 0xff
	if err := os.WriteFile(segs[0], b, 0o644); err != nil {
		t.Fatal(err)
	}
	return segs[0], int64(n)
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
