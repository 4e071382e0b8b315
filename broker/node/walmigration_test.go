package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-stream/chronik/broker/config"
	"github.com/chronik-stream/chronik/broker/console"
	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/chronik-stream/chronik/walcodec"
)

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func captureLogger() (*slog.Logger, *syncBuffer) {
	b := &syncBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelInfo})), b
}

// v2Config is a standalone node writing V2 with small segments.
func v2Config(t *testing.T, dataDir string) config.Config {
	cfg := testConfig(t, dataDir)
	cfg.WALFormat = walcodec.V2
	cfg.SegmentBytes = 2048
	return cfg
}

func startLogged(t *testing.T, cfg config.Config) (*Node, *syncBuffer) {
	t.Helper()
	lg, buf := captureLogger()
	n, err := Start(context.Background(), cfg, lg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Shutdown(context.Background()) })
	return n, buf
}

// poll waits for cond, failing the test after a generous deadline.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitMigration polls Progress until the run leaves "running".
func waitMigration(t *testing.T, m *liveMigration) console.MigrationNode {
	t.Helper()
	var p console.MigrationNode
	poll(t, "the migration to finish", func() bool { p = m.Progress(); return p.State != migrationRunning })
	return p
}

// walSegments verifies every segment file under walDir and returns the V2 and V3 record
// counts per segment path.
func walSegments(t *testing.T, walDir string) map[string][2]int {
	t.Helper()
	out := map[string][2]int{}
	err := filepath.WalkDir(walDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if _, _, ok := walcodec.ParseSegmentName(d.Name()); !ok {
			if strings.HasSuffix(d.Name(), ".migrate-tmp") {
				t.Errorf("temporary file left: %s", p)
			}
			return nil
		}
		sum, err := walcodec.VerifySegment(p, walcodec.ReadAny)
		if err != nil {
			return err
		}
		out[p] = [2]int{sum.V2Records, sum.V3Records}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// countRecords sums V2 and V3 records of walSegments.
func countRecords(segs map[string][2]int) (v2, v3 int) {
	for _, c := range segs {
		v2 += c[0]
		v3 += c[1]
	}
	return v2, v3
}

// sentRecord is what a client produced and must read back.
type sentRecord struct {
	key, value []byte
	headers    string
}

func headerString(hs []kgo.RecordHeader) string {
	var b strings.Builder
	for _, h := range hs {
		fmt.Fprintf(&b, "%s=%s;", h.Key, h.Value)
	}
	return b.String()
}

// traffic produces to and consumes from a node and checks that every record comes back
// once, in order, with the same bytes.
type traffic struct {
	t      *testing.T
	topics map[string]int32 // partitions

	mu       sync.Mutex
	sent     map[string]map[int64]sentRecord // "topic/p" → offset → record
	consumed map[string][]*kgo.Record
	seq      int
}

func newTraffic(t *testing.T, topics map[string]int32) *traffic {
	return &traffic{t: t, topics: topics, sent: map[string]map[int64]sentRecord{}, consumed: map[string][]*kgo.Record{}}
}

// produce sends one round: records to every partition of every topic, synchronously.
func (tr *traffic) produce(ctx context.Context, cl *kgo.Client, perPartition int) error {
	var recs []*kgo.Record
	tr.mu.Lock()
	for topic, parts := range tr.topics {
		for p := int32(0); p < parts; p++ {
			for i := 0; i < perPartition; i++ {
				tr.seq++
				r := &kgo.Record{Topic: topic, Partition: p, Value: []byte(fmt.Sprintf("%s/%d value %d %s", topic, p, tr.seq, strings.Repeat("x", tr.seq%50)))}
				if tr.seq%4 != 0 { // every fourth key is null
					r.Key = []byte(fmt.Sprintf("key-%d", tr.seq))
				}
				if tr.seq%3 == 0 {
					r.Headers = []kgo.RecordHeader{{Key: "seq", Value: []byte(fmt.Sprint(tr.seq))}, {Key: "empty"}}
				}
				recs = append(recs, r)
			}
		}
	}
	tr.mu.Unlock()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return err
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, r := range recs {
		tp := fmt.Sprintf("%s/%d", r.Topic, r.Partition)
		if tr.sent[tp] == nil {
			tr.sent[tp] = map[int64]sentRecord{}
		}
		if _, dup := tr.sent[tp][r.Offset]; dup {
			return fmt.Errorf("%s offset %d acknowledged twice", tp, r.Offset)
		}
		tr.sent[tp][r.Offset] = sentRecord{key: r.Key, value: r.Value, headers: headerString(r.Headers)}
	}
	return nil
}

func (tr *traffic) produced() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, m := range tr.sent {
		n += len(m)
	}
	return n
}

func (tr *traffic) consumedCount() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, rs := range tr.consumed {
		n += len(rs)
	}
	return n
}

// caughtUp reports whether every partition has consumed as many records as were produced.
func (tr *traffic) caughtUp() bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for tp, sent := range tr.sent {
		if len(tr.consumed[tp]) < len(sent) {
			return false
		}
	}
	return true
}

// consume polls until ctx ends.
func (tr *traffic) consume(ctx context.Context, cl *kgo.Client) error {
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		for _, fe := range fs.Errors() {
			return fmt.Errorf("fetch %s/%d: %w", fe.Topic, fe.Partition, fe.Err)
		}
		tr.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) {
			tp := fmt.Sprintf("%s/%d", r.Topic, r.Partition)
			tr.consumed[tp] = append(tr.consumed[tp], r)
		})
		tr.mu.Unlock()
	}
}

// verify checks every partition: consumed offsets are 0..n-1, each once, and each record
// is the one produced there, byte for byte; nothing produced is missing.
func (tr *traffic) verify() {
	t := tr.t
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for tp, sent := range tr.sent {
		got := tr.consumed[tp]
		if len(got) != len(sent) {
			t.Fatalf("%s: consumed %d records, produced %d", tp, len(got), len(sent))
		}
		for i, r := range got {
			want, ok := sent[int64(i)]
			switch {
			case r.Offset != int64(i):
				t.Fatalf("%s: record %d has offset %d (duplicate or gap)", tp, i, r.Offset)
			case !ok:
				t.Fatalf("%s: offset %d consumed but never acknowledged", tp, i)
			case !bytes.Equal(r.Key, want.key) || (r.Key == nil) != (want.key == nil) ||
				!bytes.Equal(r.Value, want.value) || headerString(r.Headers) != want.headers:
				t.Fatalf("%s offset %d: got key %q value %q headers %q, produced key %q value %q headers %q",
					tp, i, r.Key, r.Value, headerString(r.Headers), want.key, want.value, want.headers)
			}
		}
	}
}

// clients are a producer and a consumer of the topics on n.
func clients(t *testing.T, n *Node, topics map[string]int32) (producer, consumer *kgo.Client) {
	t.Helper()
	var names []string
	for topic := range topics {
		names = append(names, topic)
	}
	producer, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddr()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(producer.Close)
	consumer, err = kgo.NewClient(kgo.SeedBrokers(n.KafkaAddr()), kgo.ConsumeTopics(names...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond), kgo.FetchMaxBytes(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(consumer.Close)
	return producer, consumer
}

// TestLiveWALMigration converts a running wal_format = 2 node to V3 while a producer and a
// consumer keep going (one conversion is held until both made progress, so serving during the
// migration is certain); every record comes back once, in order, with the same bytes; every
// segment is V3; the guide's lines are logged. Then the restart decision: with wal_format = 2
// still configured the node keeps writing V3 (logged), also for a topic created after the
// restart, the metadata log and a topic whose configs are altered.
func TestLiveWALMigration(t *testing.T) {
	data := t.TempDir()
	walDir := filepath.Join(data, "wal")
	topics := map[string]int32{"orders": 3, "events": 1}
	n, logs := startLogged(t, v2Config(t, data))
	producer, consumer := clients(t, n, topics)
	for topic, parts := range topics {
		createTopic(t, producer, topic, parts)
	}
	tr := newTraffic(t, topics)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 0; i < 40; i++ {
		if err := tr.produce(ctx, producer, 5); err != nil {
			t.Fatal(err)
		}
	}
	if v2, v3 := countRecords(walSegments(t, walDir)); v2 == 0 || v3 != 0 {
		t.Fatalf("before the migration: %d V2 and %d V3 records", v2, v3)
	}
	if p := newLiveMigration(n).Progress(); p.State != migrationIdle || p.SegmentsV3 != 0 || p.Total == 0 {
		t.Fatalf("progress before any run: %+v", p)
	}

	var wg sync.WaitGroup
	errc := make(chan error, 2)
	stopProducing := make(chan struct{})
	producerDone := make(chan struct{})
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(producerDone)
		for {
			select {
			case <-stopProducing:
				return
			default:
			}
			if err := tr.produce(ctx, producer, 2); err != nil {
				errc <- fmt.Errorf("produce: %w", err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		if err := tr.consume(ctx, consumer); err != nil {
			errc <- fmt.Errorf("consume: %w", err)
		}
	}()

	m := newLiveMigration(n)
	defer m.Close()
	held := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	m.afterConvert = func(ctx context.Context, path string) {
		once.Do(func() {
			close(held)
			select {
			case <-release:
			case <-ctx.Done():
			}
		})
	}
	id, err := m.Start(0, false)
	if err != nil || !strings.HasPrefix(id, "wal-migration-") {
		t.Fatalf("Start = %q, %v", id, err)
	}
	if _, err := m.Start(2, false); !errors.Is(err, errMigrationRunning) {
		t.Fatalf("second Start while running = %v, want errMigrationRunning", err)
	}
	<-held
	if p := m.Progress(); p.State != migrationRunning || p.Total == 0 {
		t.Fatalf("progress while running: %+v", p)
	}
	// Mid-migration (one converted segment not swapped yet) the node serves both ways.
	mark, consumedMark := tr.produced(), tr.consumedCount()
	poll(t, "produce and consume progress during the migration", func() bool {
		return tr.produced() >= mark+100 && tr.consumedCount() >= consumedMark+100
	})
	close(release)
	p := waitMigration(t, m)
	if p.State != migrationDone || p.SegmentsV3 != p.Total || p.Total == 0 {
		t.Fatalf("progress after the run: %+v", p)
	}
	mark = tr.produced()
	poll(t, "produce progress after the migration", func() bool { return tr.produced() >= mark+50 })
	close(stopProducing)
	<-producerDone
	poll(t, "the consumer to catch up", func() bool {
		select {
		case err := <-errc:
			t.Fatal(err)
		default:
		}
		return tr.caughtUp()
	})
	cancel()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	tr.verify()

	segs := walSegments(t, walDir)
	if v2, v3 := countRecords(segs); v2 != 0 || v3 == 0 {
		t.Fatalf("after the migration: %d V2 and %d V3 records in %d segments", v2, v3, len(segs))
	}
	if pin, err := storage.ReadFormatPin(walDir); err != nil || pin != walcodec.V3 {
		t.Fatalf("format pin = %d, %v", pin, err)
	}
	out := logs.String()
	for _, want := range []string{
		`msg="WAL migration started"`,
		`msg="Found `,
		`msg="Converting segment 0/`,
		`msg="Converted `,
		`msg="WAL migration complete (took `,
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("log lacks %s:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "Found ") || strings.Contains(line, "Converted ") || strings.Contains(line, "migration complete") {
			t.Log(line)
		}
	}
	if !strings.Contains(out, filepath.Join("__meta", "wal_0_00000001.log")) {
		t.Fatalf("the metadata log was not converted:\n%s", out)
	}
	if _, err := m.Start(2, false); !errors.Is(err, errNothingToMigrate) {
		t.Fatalf("Start after a complete run = %v, want errNothingToMigrate", err)
	}

	// Restart with wal_format = 2 still configured.
	m.Close()
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	n2, logs2 := startLogged(t, v2Config(t, data))
	if out := logs2.String(); !strings.Contains(out, "wal_format = 2 overridden") {
		t.Fatalf("restart did not log the format decision:\n%s", out)
	}
	topics["late"] = 2
	producer2, consumer2 := clients(t, n2, topics)
	createTopic(t, producer2, "late", 2) // a new topic and a metadata record after the restart
	alterTopicConfig(t, producer2, "orders", "segment.bytes", "4096")
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	for i := 0; i < 10; i++ {
		if err := tr.produce(ctx2, producer2, 3); err != nil {
			t.Fatal(err)
		}
	}
	tr.consumed = map[string][]*kgo.Record{}
	done := make(chan error, 1)
	go func() { done <- tr.consume(ctx2, consumer2) }()
	poll(t, "consuming everything after the restart", tr.caughtUp)
	cancel2()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	tr.verify()
	if v2, v3 := countRecords(walSegments(t, walDir)); v2 != 0 || v3 == 0 {
		t.Fatalf("after a restart with wal_format = 2: %d V2 and %d V3 records", v2, v3)
	}
	if _, err := newLiveMigration(n2).Start(2, false); !errors.Is(err, errNothingToMigrate) {
		t.Fatalf("Start on the restarted node = %v, want errNothingToMigrate", err)
	}
	if p := newLiveMigration(n2).Progress(); p.State != migrationDone || p.SegmentsV3 != p.Total {
		t.Fatalf("progress on the restarted node: %+v", p)
	}
}

// corruptRecord flips a byte inside the second record of path (through a separate descriptor:
// the node keeps its own open) and returns that record's byte offset.
func corruptRecord(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	sr := walcodec.NewSegmentReader(path, f, st.Size(), walcodec.ReadAny)
	if _, _, err := sr.Next(); err != nil {
		t.Fatal(err)
	}
	_, pos, err := sr.Next()
	if err != nil {
		t.Fatal(err)
	}
	at := pos + walcodec.HeaderSize + 30
	var b [1]byte
	if _, err := f.ReadAt(b[:], at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b[:], at); err != nil {
		t.Fatal(err)
	}
	return pos
}

// TestLiveWALMigrationDamage: a damaged sealed segment fails the run (state failed, detail
// naming path and offset) while the node keeps serving; with skipErrors the run completes,
// leaving that segment V2 and naming it.
func TestLiveWALMigrationDamage(t *testing.T) {
	data := t.TempDir()
	walDir := filepath.Join(data, "wal")
	topics := map[string]int32{"orders": 1}
	n, logs := startLogged(t, v2Config(t, data))
	producer, _ := clients(t, n, topics)
	createTopic(t, producer, "orders", 1)
	createTopic(t, producer, "healthy", 1)
	tr := newTraffic(t, topics)
	ctx := context.Background()
	for i := 0; i < 40; i++ {
		if err := tr.produce(ctx, producer, 10); err != nil {
			t.Fatal(err)
		}
	}
	l, ok := n.logs.Get("orders", 0)
	if !ok {
		t.Fatal("no log for orders/0")
	}
	segs := l.Segments()
	if len(segs) < 3 {
		t.Fatalf("orders/0 has %d segments, want several", len(segs))
	}
	damaged := segs[1].Path
	recOff := corruptRecord(t, damaged)
	wantReason := fmt.Sprintf("InvalidChecksum at offset %d", recOff)

	m := newLiveMigration(n)
	defer m.Close()
	if _, err := m.Start(1, false); err != nil {
		t.Fatal(err)
	}
	p := waitMigration(t, m)
	if p.State != migrationFailed || !strings.Contains(p.Detail, wantReason+" in "+damaged) {
		t.Fatalf("progress after damage: %+v, want failed naming %q in %s", p, wantReason, damaged)
	}
	if !strings.Contains(logs.String(), `level=ERROR msg="WAL migration failed"`) {
		t.Fatalf("failure not logged:\n%s", logs.String())
	}
	// The node still serves.
	hp, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddr()), kgo.DefaultProduceTopic("healthy"),
		kgo.ConsumeTopics("healthy"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer hp.Close()
	if err := hp.ProduceSync(ctx, &kgo.Record{Value: []byte("still serving")}).FirstErr(); err != nil {
		t.Fatalf("produce after a failed migration: %v", err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
	defer pcancel()
	if fs := hp.PollRecords(pctx, 1); fs.Err() != nil || fs.NumRecords() != 1 || string(fs.Records()[0].Value) != "still serving" {
		t.Fatalf("consume after a failed migration: %v, %d records", fs.Err(), fs.NumRecords())
	}

	if _, err := m.Start(2, true); err != nil {
		t.Fatal(err)
	}
	p = waitMigration(t, m)
	if p.State != migrationDone || !strings.Contains(p.Detail, "1 damaged segments left V2: "+damaged+" ("+wantReason+")") ||
		p.SegmentsV3 != p.Total-1 {
		t.Fatalf("progress with skipErrors: %+v", p)
	}
	others := walSegmentsTolerant(t, walDir, damaged)
	for path, c := range others {
		if c[0] != 0 {
			t.Fatalf("%s: %d V2 records after the skipErrors run", path, c[0])
		}
	}
	if _, v3 := countRecords(others); v3 == 0 {
		t.Fatal("no V3 record after the skipErrors run")
	}
	if raw, err := os.ReadFile(damaged); err != nil || string(raw[:4]) != "WAL2" {
		t.Fatalf("damaged segment %s no longer V2: %v", damaged, err)
	}
}

// walSegmentsTolerant is walSegments without verifying the damaged segment.
func walSegmentsTolerant(t *testing.T, walDir, damaged string) map[string][2]int {
	t.Helper()
	out := map[string][2]int{}
	err := filepath.WalkDir(walDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == damaged {
			return err
		}
		if _, _, ok := walcodec.ParseSegmentName(d.Name()); !ok {
			return nil
		}
		sum, err := walcodec.VerifySegment(p, walcodec.ReadAny)
		if err != nil {
			return err
		}
		out[p] = [2]int{sum.V2Records, sum.V3Records}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fakeCluster marks a node as a cluster node; its methods are never called here.
type fakeCluster struct{ Cluster }

// TestLiveWALMigrationPreconditions: cluster mode, nothing to convert, a run in progress and
// a closed migration are refused; Close interrupts a running migration.
func TestLiveWALMigrationPreconditions(t *testing.T) {
	if _, err := newLiveMigration(&Node{cluster: fakeCluster{}}).Start(2, false); !errors.Is(err, errMigrationCluster) {
		t.Fatalf("cluster mode: %v", err)
	}

	v3 := startNode(t, testConfig(t, t.TempDir())) // wal_format = 3: V3 from the start
	if _, err := newLiveMigration(v3).Start(2, false); !errors.Is(err, errNothingToMigrate) {
		t.Fatalf("V3 node: %v", err)
	}

	n, logs := startLogged(t, v2Config(t, t.TempDir()))
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	createTopic(t, cl, "orders", 1)
	m := newLiveMigration(n)
	held := make(chan struct{})
	m.afterConvert = func(ctx context.Context, path string) {
		select {
		case <-held:
		default:
			close(held)
		}
		<-ctx.Done() // hold until Close cancels
	}
	if _, err := m.Start(2, false); err != nil {
		t.Fatal(err)
	}
	<-held
	if _, err := m.Start(2, false); !errors.Is(err, errMigrationRunning) {
		t.Fatalf("while running: %v", err)
	}
	m.Close()
	if p := m.Progress(); p.State != migrationFailed || !strings.Contains(p.Detail, "interrupted") {
		t.Fatalf("progress after Close: %+v", p)
	}
	if _, err := m.Start(2, false); !errors.Is(err, errMigrationClosed) {
		t.Fatalf("after Close: %v", err)
	}
	// The interrupted conversion left no temporary file and every segment verifies.
	if segs := walSegments(t, filepath.Join(n.cfg.DataDir, "wal")); len(segs) == 0 {
		t.Fatal("no segments")
	}
	if !strings.Contains(logs.String(), `msg="WAL migration failed"`) {
		t.Fatalf("interruption not logged:\n%s", logs.String())
	}
}

// alterTopicConfig sets one topic config with IncrementalAlterConfigs.
func alterTopicConfig(t *testing.T, cl *kgo.Client, topic, key, value string) {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, topic
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Op, c.Value = key, kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr(value)
	res.Configs = append(res.Configs, c)
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			t.Fatalf("alter %s %s=%s: %v", topic, key, value, err)
		}
	}
}
