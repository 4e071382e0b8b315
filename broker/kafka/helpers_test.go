package kafka

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chronik-stream/chronik/broker/groups"
	"github.com/chronik-stream/chronik/broker/meta"
	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/chronik-stream/chronik/walcodec"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ioTimeout bounds every socket read of a test so a bug fails the test instead of hanging it.
const ioTimeout = 20 * time.Second

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("CHRONIK_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testBroker is an in-process broker on 127.0.0.1 with real storage, meta and groups.
type testBroker struct {
	srv    *Server
	addr   string
	meta   *meta.Store
	logs   *storage.Manager
	groups *groups.Coordinator
	reg    *prometheus.Registry

	cancel   context.CancelFunc
	serveErr chan error
	stopOnce sync.Once
	bg       sync.WaitGroup
}

func startBroker(t testing.TB, mutate func(*Config)) *testBroker {
	t.Helper()
	dir := t.TempDir()
	logger := testLogger(t)
	sm := storage.NewMetrics(nil)
	logs := storage.NewManager(filepath.Join(dir, "wal"), logger, sm)
	ms, err := meta.Open(filepath.Join(dir, "wal", "__meta"), walcodec.V3, logger, sm)
	if err != nil {
		t.Fatalf("open meta: %v", err)
	}
	coord := groups.NewCoordinator(groups.Config{}, ms, logger, nil)
	cfg := Config{NodeID: 1, ClusterID: "test-cluster", AutoCreateTopics: true, DefaultPartitions: 1, MaxInFlightPerConn: 8}
	if mutate != nil {
		mutate(&cfg)
	}
	reg := prometheus.NewRegistry()
	srv, err := NewServer(cfg, Deps{Logs: logs, Meta: ms, Groups: coord}, logger, reg)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &testBroker{srv: srv, addr: ln.Addr().String(), meta: ms, logs: logs, groups: coord, reg: reg, cancel: cancel, serveErr: make(chan error, 1)}
	b.bg.Go(func() { coord.Run(ctx) })
	b.bg.Go(func() { b.serveErr <- srv.Serve(ctx, ln) })
	t.Cleanup(func() {
		b.stop(t)
		coord.Close()
		b.bg.Wait()
		if err := logs.Close(); err != nil {
			t.Errorf("close logs: %v", err)
		}
		if err := ms.Close(); err != nil {
			t.Errorf("close meta: %v", err)
		}
	})
	return b
}

// stop cancels Serve and checks it returned nil.
func (b *testBroker) stop(t testing.TB) {
	b.stopOnce.Do(func() {
		b.cancel()
		if err := <-b.serveErr; err != nil {
			t.Errorf("serve returned %v", err)
		}
	})
}

// createTopic creates a topic through the server's topic manager.
func (b *testBroker) createTopic(t testing.TB, name string, partitions int32, configs map[string]string) {
	t.Helper()
	if _, err := b.srv.topics.create(context.Background(), createRequest{name: name, partitions: partitions, rf: 1, configs: configs}, false); err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
}

// rawConn speaks the Kafka protocol over one TCP connection, one kmsg request at a time.
type rawConn struct {
	t    testing.TB
	nc   net.Conn
	br   *bufio.Reader
	corr int32
	f    *kmsg.RequestFormatter
}

func (b *testBroker) dial(t testing.TB) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", b.addr)
	if err != nil {
		t.Fatalf("dial %s: %v", b.addr, err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc), f: kmsg.NewRequestFormatter(kmsg.FormatterClientID("test-client"))}
}

// send writes req and returns its correlation id.
func (c *rawConn) send(req kmsg.Request) int32 {
	c.t.Helper()
	c.corr++
	if _, err := c.nc.Write(c.f.AppendRequest(nil, req, c.corr)); err != nil {
		c.t.Fatalf("write %s: %v", kmsg.NameForKey(req.Key()), err)
	}
	return c.corr
}

// readFrame reads one response frame: correlation id and the rest.
func (c *rawConn) readFrame() (int32, []byte, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	var sz [4]byte
	if _, err := io.ReadFull(c.br, sz[:]); err != nil {
		return 0, nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint32(sz[:]))
	if _, err := io.ReadFull(c.br, buf); err != nil {
		return 0, nil, err
	}
	if len(buf) < 4 {
		return 0, nil, errors.New("short response")
	}
	return int32(binary.BigEndian.Uint32(buf)), buf[4:], nil
}

// recv reads the response to a request of key/version sent with correlation id corr.
func (c *rawConn) recv(req kmsg.Request, corr int32) kmsg.Response {
	c.t.Helper()
	got, body, err := c.readFrame()
	if err != nil {
		c.t.Fatalf("read response to %s v%d: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	if got != corr {
		c.t.Fatalf("response correlation id %d, want %d", got, corr)
	}
	resp := req.ResponseKind()
	if resp.IsFlexible() && req.Key() != apiVersionsKey {
		if len(body) == 0 || body[0] != 0 {
			c.t.Fatalf("flexible response header: want an empty tag section, got % x", body[:min(len(body), 4)])
		}
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		c.t.Fatalf("decode %s v%d response: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp
}

func (c *rawConn) roundTrip(req kmsg.Request) kmsg.Response {
	c.t.Helper()
	return c.recv(req, c.send(req))
}

// expectClosed reads until the server closes the connection; a response or a timeout fails.
func (c *rawConn) expectClosed() {
	c.t.Helper()
	corr, _, err := c.readFrame()
	if err == nil {
		c.t.Fatalf("got a response (correlation id %d), want the connection closed", corr)
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		c.t.Fatalf("connection still open after %s", ioTimeout)
	}
}

// makeBatch builds a magic-2 record batch holding values, with a valid CRC-32C.
func makeBatch(ts int64, values ...string) []byte {
	var recs []byte
	for i, v := range values {
		r := kmsg.NewRecord()
		r.OffsetDelta = int32(i)
		r.Value = []byte(v)
		body := r.AppendTo(nil)[1:] // everything after the (1-byte) zero length
		r.Length = int32(len(body))
		recs = r.AppendTo(recs)
	}
	b := kmsg.RecordBatch{
		Magic:           2,
		LastOffsetDelta: int32(len(values) - 1),
		FirstTimestamp:  ts,
		MaxTimestamp:    ts,
		ProducerID:      -1,
		ProducerEpoch:   -1,
		FirstSequence:   -1,
		NumRecords:      int32(len(values)),
		Records:         recs,
	}
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[8:], uint32(len(out)-12))
	crc := crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli))
	binary.BigEndian.PutUint32(out[17:], crc)
	return out
}

// produceReq builds a Produce request of one partition.
func produceReq(version int16, acks int16, topic string, partition int32, records []byte) *kmsg.ProduceRequest {
	r := kmsg.NewPtrProduceRequest()
	r.Version = version
	r.Acks = acks
	r.TimeoutMillis = 10000
	t := kmsg.NewProduceRequestTopic()
	t.Topic = topic
	p := kmsg.NewProduceRequestTopicPartition()
	p.Partition = partition
	p.Records = records
	t.Partitions = append(t.Partitions, p)
	r.Topics = append(r.Topics, t)
	return r
}

// fetchReq builds a Fetch request of one partition.
func fetchReq(version int16, topic string, partition int32, offset int64, maxWaitMs, minBytes int32) *kmsg.FetchRequest {
	r := kmsg.NewPtrFetchRequest()
	r.Version = version
	r.ReplicaID = -1
	r.MaxWaitMillis = maxWaitMs
	r.MinBytes = minBytes
	r.MaxBytes = 50 << 20
	r.SessionEpoch = -1
	t := kmsg.NewFetchRequestTopic()
	t.Topic = topic
	p := kmsg.NewFetchRequestTopicPartition()
	p.Partition = partition
	p.FetchOffset = offset
	p.PartitionMaxBytes = 1 << 20
	t.Partitions = append(t.Partitions, p)
	r.Topics = append(r.Topics, t)
	return r
}
