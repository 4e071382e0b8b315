package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-stream/chronik/broker/backup"
	"github.com/chronik-stream/chronik/broker/config"
)

const testToken = "s3cret"

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func testConfig(t *testing.T, dataDir string) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.BindHost = "127.0.0.1"
	cfg.KafkaPort = freePort(t)
	cfg.HTTPPort = freePort(t)
	cfg.Cluster.NodeAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg.AdminToken = testToken
	return cfg
}

func startNode(t *testing.T, cfg config.Config) *Node {
	t.Helper()
	n, err := Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Shutdown(context.Background()) })
	return n
}

// rawBatch builds a magic-2 RecordBatch of n records.
func rawBatch(n int, tag string) []byte {
	var recs []byte
	for i := 0; i < n; i++ {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte(fmt.Sprintf("%s-%d", tag, i))}
		body := r.AppendTo(nil)
		r.Length = int32(len(body) - 1)
		recs = r.AppendTo(recs)
	}
	ts := time.Now().UnixMilli()
	b := kmsg.RecordBatch{PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(n - 1), FirstTimestamp: ts, MaxTimestamp: ts,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(n), Records: recs}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

// produceBatches sends each batch in its own Produce request (acks=all) to
// topic partition 0 and returns the base offsets.
func produceBatches(t *testing.T, cl *kgo.Client, topic string, batches ...[]byte) []int64 {
	t.Helper()
	var bases []int64
	for _, b := range batches {
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = -1, 10000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = b
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(context.Background(), cl)
		if err != nil {
			t.Fatal(err)
		}
		p := resp.Topics[0].Partitions[0]
		if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
			t.Fatalf("produce: %v", err)
		}
		bases = append(bases, p.BaseOffset)
	}
	return bases
}

func createTopic(t *testing.T, cl *kgo.Client, topic string, partitions int32) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, 1
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

func listEnd(t *testing.T, cl *kgo.Client, topic string) int64 {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
		t.Fatal(err)
	}
	return p.Offset
}

func post(t *testing.T, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s answered %d without a JSON body: %v", url, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

func TestSetHWMEndpoint(t *testing.T) {
	n := startNode(t, testConfig(t, t.TempDir()))
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	createTopic(t, cl, "orders", 1)
	// Batches of 4, 1, 5, 3 and 2 records: offsets 0-3, 4, 5-9, 10-12, 13-14.
	bases := produceBatches(t, cl, "orders", rawBatch(4, "a"), rawBatch(1, "b"), rawBatch(5, "c"), rawBatch(3, "d"), rawBatch(2, "e"))
	if fmt.Sprint(bases) != "[0 4 5 10 13]" {
		t.Fatalf("base offsets %v", bases)
	}
	url := "http://" + n.HTTPAddr() + "/admin/set-hwm"

	tests := []struct {
		name    string
		token   string
		body    string
		status  int
		wantErr string
		want    map[string]any
	}{
		{"no token", "", `{"topic":"orders","partition":0,"offset":10}`, 401, "admin token required", nil},
		{"wrong token", "nope", `{"topic":"orders","partition":0,"offset":10}`, 401, "invalid admin token", nil},
		{"unknown topic", testToken, `{"topic":"nope","partition":0,"offset":1}`, 404, "unknown topic or partition nope/0", nil},
		{"unknown partition", testToken, `{"topic":"orders","partition":3,"offset":1}`, 404, "unknown topic or partition orders/3", nil},
		{"missing offset", testToken, `{"topic":"orders","partition":0}`, 400, `"offset" is required`, nil},
		{"beyond the log end", testToken, `{"topic":"orders","partition":0,"offset":1000}`, 400, "beyond the log end offset 15 of orders/0", nil},
		{"inside a batch", testToken, `{"topic":"orders","partition":0,"offset":7}`, 400, "nearest batch boundaries are 5 and 10", nil},
		{"at the high watermark", testToken, `{"topic":"orders","partition":0,"offset":15}`, 200, "",
			map[string]any{"topic": "orders", "partition": 0.0, "previous_hwm": 15.0, "hwm": 15.0}},
		{"truncate", testToken, `{"topic":"orders","partition":0,"offset":10}`, 200, "",
			map[string]any{"topic": "orders", "partition": 0.0, "previous_hwm": 15.0, "hwm": 10.0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, url, tc.token, tc.body)
			if status != tc.status {
				t.Fatalf("status %d (%v), want %d", status, body, tc.status)
			}
			if tc.wantErr != "" {
				if msg, _ := body["error"].(string); !strings.Contains(msg, tc.wantErr) {
					t.Fatalf("error %q, want it to contain %q", msg, tc.wantErr)
				}
			}
			if tc.want != nil && fmt.Sprint(body) != fmt.Sprint(tc.want) {
				t.Fatalf("body %v, want %v", body, tc.want)
			}
		})
	}

	// Clients see the new high watermark; fetching returns offsets 0..9 only
	// and the next produce lands at 10.
	if end := listEnd(t, cl, "orders"); end != 10 {
		t.Fatalf("ListOffsets latest %d, want 10", end)
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddr()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"orders": {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []int64
	var hwm int64 = -1
	for len(got) < 10 {
		fs := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %v before the deadline", got)
		}
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			hwm = p.HighWatermark
			for _, r := range p.Records {
				got = append(got, r.Offset)
			}
		})
	}
	if len(got) != 10 || got[9] != 9 || hwm != 10 {
		t.Fatalf("fetched offsets %v with high watermark %d, want 0..9 and 10", got, hwm)
	}
	if b := produceBatches(t, cl, "orders", rawBatch(1, "f")); b[0] != 10 {
		t.Fatalf("produce after truncation at %d, want 10", b[0])
	}
}

func TestBackupEndpoint(t *testing.T) {
	n := startNode(t, testConfig(t, t.TempDir()))
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.KafkaAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	createTopic(t, cl, "orders", 2)
	produceBatches(t, cl, "orders", rawBatch(3, "a"), rawBatch(2, "b"))

	url := "http://" + n.HTTPAddr() + "/admin/backup"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("backup without a token: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("X-Admin-Token", testToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	archive, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/gzip" {
		t.Fatalf("backup: %d %q %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	m, err := backup.Verify(context.Background(), bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Topics) != 1 || m.Topics[0].Name != "orders" || len(m.Partitions) != 2 || m.Partitions[0].HighWatermark != 5 || m.WALFormat != 3 {
		t.Fatalf("manifest %+v", m)
	}
}

func TestDataDirLock(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, testConfig(t, dir))
	if _, err := Start(context.Background(), testConfig(t, dir), slog.New(slog.DiscardHandler)); !errors.Is(err, ErrDataDirInUse) {
		t.Fatalf("second broker on the same data dir: %v", err)
	}
	if _, err := LockDataDir(dir); !errors.Is(err, ErrDataDirInUse) || !strings.Contains(err.Error(), filepath.Join(dir, LockFileName)) {
		t.Fatalf("offline lock of a running broker's data dir: %v", err)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	l, err := LockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after shutdown: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	startNode(t, testConfig(t, dir))
}
