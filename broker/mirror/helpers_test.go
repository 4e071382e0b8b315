package mirror_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-stream/chronik/broker/config"
	"github.com/chronik-stream/chronik/broker/mirror"
	"github.com/chronik-stream/chronik/broker/node"
)

// testLogger logs WARN+ through t.Log when CHRONIK_TEST_LOG is set; discards otherwise.
func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("CHRONIK_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startNode runs a standalone broker on loopback ports; it is shut down at cleanup.
func startNode(t testing.TB) *node.Node {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.BindHost = "127.0.0.1"
	cfg.KafkaPort, cfg.HTTPPort = freePort(t), freePort(t)
	cfg.Cluster.NodeAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	n, err := node.Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Shutdown(context.Background()) })
	return n
}

func newClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func createTopic(t testing.TB, cl *kgo.Client, topic string, partitions int32, configs map[string]string) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, 1
	for k, v := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// genRecords makes n records for topic/partition numbered from first: nil, empty and
// regular keys, zero to two headers (one with a nil value), distinct timestamps.
func genRecords(topic string, partition int32, first, n int) []*kgo.Record {
	out := make([]*kgo.Record, n)
	for j := range n {
		i := first + j
		r := &kgo.Record{
			Topic: topic, Partition: partition,
			Value:     fmt.Appendf(nil, "%s/%d/value-%d", topic, partition, i),
			Timestamp: time.UnixMilli(1_700_000_000_000 + int64(i)*7 + int64(partition)),
		}
		switch i % 5 {
		case 0: // nil key
		case 1:
			r.Key = []byte{}
		default:
			r.Key = fmt.Appendf(nil, "key-%d", i%17)
		}
		switch i % 3 {
		case 1:
			r.Headers = []kgo.RecordHeader{{Key: "trace", Value: fmt.Appendf(nil, "t-%d", i)}}
		case 2:
			r.Headers = []kgo.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "empty", Value: nil}}
		}
		out[j] = r
	}
	return out
}

func produce(t testing.TB, cl *kgo.Client, recs []*kgo.Record) {
	t.Helper()
	if err := cl.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
		t.Fatalf("producing %d records: %v", len(recs), err)
	}
}

// hwms lists the high watermarks of a topic's partitions.
func hwms(t testing.TB, cl *kgo.Client, topic string, partitions int32) []int64 {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for p := range partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = p, -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int64, partitions)
	for _, p := range resp.Topics[0].Partitions {
		if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
			t.Fatalf("list offsets %s[%d]: %v", topic, p.Partition, err)
		}
		out[p.Partition] = p.Offset
	}
	return out
}

// readAll consumes every record of a topic up to its current high watermarks.
func readAll(t testing.TB, addr, topic string, partitions int32) map[int32][]*kgo.Record {
	t.Helper()
	cl := newClient(t, addr)
	ends := hwms(t, cl, topic, partitions)
	offs := make(map[int32]kgo.Offset)
	for p := range partitions {
		offs[p] = kgo.NewOffset().AtStart()
	}
	cons := newClient(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offs}))
	out := make(map[int32][]*kgo.Record)
	done := func() bool {
		for p := range partitions {
			recs := out[p]
			if ends[p] > 0 && (len(recs) == 0 || recs[len(recs)-1].Offset < ends[p]-1) {
				return false
			}
		}
		return true
	}
	ctx := testCtx(t)
	for !done() {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("reading %s from %s: %v (have %d partitions)", topic, addr, err, len(out))
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s[%d]: %v", tp, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset < ends[r.Partition] {
				out[r.Partition] = append(out[r.Partition], r)
			}
		})
	}
	return out
}

// sameRecords compares two records field by field (nil and empty keys/values differ).
func sameRecords(a, b *kgo.Record) string {
	switch {
	case a.Offset != b.Offset:
		return fmt.Sprintf("offset %d vs %d", a.Offset, b.Offset)
	case (a.Key == nil) != (b.Key == nil) || !bytes.Equal(a.Key, b.Key):
		return fmt.Sprintf("key %q (nil %v) vs %q (nil %v)", a.Key, a.Key == nil, b.Key, b.Key == nil)
	case !bytes.Equal(a.Value, b.Value):
		return fmt.Sprintf("value %q vs %q", a.Value, b.Value)
	case !a.Timestamp.Equal(b.Timestamp):
		return fmt.Sprintf("timestamp %v vs %v", a.Timestamp, b.Timestamp)
	case len(a.Headers) != len(b.Headers):
		return fmt.Sprintf("headers %v vs %v", a.Headers, b.Headers)
	}
	for i := range a.Headers {
		ha, hb := a.Headers[i], b.Headers[i]
		if ha.Key != hb.Key || !bytes.Equal(ha.Value, hb.Value) || (ha.Value == nil) != (hb.Value == nil) {
			return fmt.Sprintf("header %d: %q=%q vs %q=%q", i, ha.Key, ha.Value, hb.Key, hb.Value)
		}
	}
	return ""
}

// compareTopic asserts that the destination holds exactly the source's records of topic:
// same count, same offsets shifted by shift, same content.
func compareTopic(t testing.TB, srcAddr, dstAddr, topic string, partitions int32, shift int64) int {
	t.Helper()
	src := readAll(t, srcAddr, topic, partitions)
	dst := readAll(t, dstAddr, topic, partitions)
	total := 0
	for p := range partitions {
		s, d := src[p], dst[p]
		if len(s) != len(d) {
			t.Fatalf("%s[%d]: source has %d records, destination %d", topic, p, len(s), len(d))
		}
		for i := range s {
			want := *s[i]
			want.Offset -= shift
			if diff := sameRecords(&want, d[i]); diff != "" {
				t.Fatalf("%s[%d] record %d (source offset %d): %s", topic, p, i, s[i].Offset, diff)
			}
		}
		total += len(s)
	}
	return total
}

// runManager opens a Manager on dir and runs it until the returned stop is called (or the
// test ends); stop waits for Run to return.
func runManager(t testing.TB, dir, local string) (*mirror.Manager, func()) {
	t.Helper()
	m, err := mirror.Open(mirror.Config{
		Dir: dir, LocalBootstrap: local, Logger: testLoggerTB(t),
		CheckpointInterval: 50 * time.Millisecond, DiscoveryInterval: 200 * time.Millisecond, GroupSyncInterval: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.Run(ctx)
	}()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return m, stop
}

// startMirror starts a mirror once Run is running.
func startMirror(t testing.TB, m *mirror.Manager, source, regex string) string {
	t.Helper()
	var id string
	waitFor(t, "mirror start", func() (bool, string) {
		var err error
		id, err = m.Start(testCtx(t), source, regex)
		if errors.Is(err, mirror.ErrNotRunning) {
			return false, err.Error()
		}
		if err != nil {
			t.Fatalf("Start(%s, %q): %v", source, regex, err)
		}
		return true, ""
	})
	return id
}

func testLoggerTB(t testing.TB) *slog.Logger {
	if tt, ok := t.(*testing.T); ok {
		return testLogger(tt)
	}
	return slog.New(slog.DiscardHandler)
}

// waitFor polls cond until it holds (30 s at most).
func waitFor(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s", what, detail)
		}
		<-tick.C
	}
}

// statusOf returns the Status of mirror id.
func statusOf(t testing.TB, m *mirror.Manager, id string) mirror.Status {
	t.Helper()
	for _, s := range m.Status() {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("mirror %s not in Status", id)
	return mirror.Status{}
}

// waitMirrored waits until mirror id copied each listed partition up to want[topic][p].
func waitMirrored(t testing.TB, m *mirror.Manager, id string, want map[string][]int64) {
	t.Helper()
	waitFor(t, "mirror "+id+" to catch up", func() (bool, string) {
		st := statusOf(t, m, id)
		got := make(map[string]map[int32]int64)
		for _, p := range st.Partitions {
			if got[p.Topic] == nil {
				got[p.Topic] = make(map[int32]int64)
			}
			got[p.Topic][p.Partition] = p.NextSourceOffset
		}
		for topic, ends := range want {
			for p, end := range ends {
				if got[topic][int32(p)] != end {
					return false, fmt.Sprintf("state %s error %q, %s[%d] next source %d, want %d", st.State, st.Error, topic, p, got[topic][int32(p)], end)
				}
			}
		}
		return true, ""
	})
}

// topicNames lists the topics of a cluster.
func topicNames(t testing.TB, cl *kgo.Client) []string {
	t.Helper()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tp := range resp.Topics {
		out = append(out, *tp.Topic)
	}
	sort.Strings(out)
	return out
}

func checkpointFile(dir, id string) string { return filepath.Join(dir, id+".checkpoint.json") }
