package console

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// Bounds of a produce measurement.
const (
	defaultMeasureFor   = 3 * time.Second
	maxMeasureFor       = 30 * time.Second
	defaultRecordBytes  = 1024
	maxRecordBytes      = 1 << 20
	measureSetupTimeout = 15 * time.Second
	// maxMeasureBytes ends a measurement early: the records stay in the topic (and are
	// replicated, snapshotted to joining nodes, mirrored), so a fast node must not write
	// gigabytes to measure its rate.
	maxMeasureBytes = 256 << 20
)

// throughput is the outcome of measureProduce.
type throughput struct {
	records, bytes int64
	took           time.Duration
}

func (t throughput) recordsPerSec() float64 { return float64(t.records) / t.took.Seconds() }
func (t throughput) mibPerSec() float64     { return float64(t.bytes) / t.took.Seconds() / (1 << 20) }

// MeasureProduce (mutating) measures the produce throughput of this cluster or of another one.
func (s *Server) MeasureProduce(ctx context.Context, req *consolepb.MeasureProduceRequest) (*consolepb.MeasureProduceResponse, error) {
	if err := s.requireAdmin(ctx, "MeasureProduce"); err != nil {
		return nil, err
	}
	if req.GetTopic() == "" {
		return nil, status.Error(codes.InvalidArgument, "MeasureProduce: need a topic to write to")
	}
	dur := time.Duration(req.GetDurationMs()) * time.Millisecond
	if dur == 0 {
		dur = defaultMeasureFor
	}
	size := int(req.GetRecordBytes())
	if size == 0 {
		size = defaultRecordBytes
	}
	if dur > maxMeasureFor || size > maxRecordBytes {
		return nil, status.Errorf(codes.InvalidArgument, "MeasureProduce: at most %s and %d-byte records (got %s, %d bytes)",
			maxMeasureFor, maxRecordBytes, dur, size)
	}
	bootstrap := req.GetBootstrap()
	if bootstrap == "" {
		bootstrap = s.src.Node().KafkaAddr
	}
	t, err := measureProduce(ctx, bootstrap, req.GetTopic(), dur, size)
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "MeasureProduce via %s: %v", bootstrap, err)
	}
	s.logger.Info("produce throughput measured", "bootstrap", bootstrap, "topic", req.GetTopic(),
		"records_per_sec", int64(t.recordsPerSec()), "mib_per_sec", fmt.Sprintf("%.1f", t.mibPerSec()))
	return &consolepb.MeasureProduceResponse{
		Bootstrap: bootstrap, Records: t.records, Bytes: t.bytes, DurationMs: t.took.Milliseconds(),
		RecordsPerSec: t.recordsPerSec(), MbPerSec: t.mibPerSec(), RecordBytes: uint32(size),
	}, nil
}

// measureProduce writes size-byte random records to topic at bootstrap for dur or until
// maxMeasureBytes are sent (acks=all, uncompressed, the client's default batching) and counts what was acknowledged, from the first send to the last
// acknowledgement. One record is produced first so that topic creation and metadata are not
// measured.
func measureProduce(ctx context.Context, bootstrap, topic string, dur time.Duration, size int) (throughput, error) {
	// Uncompressed, incompressible values: the figure is what the brokers write, not what a
	// codec saves (kgo would compress with snappy by default).
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(bootstrap, ",")...), kgo.DefaultProduceTopic(topic),
		kgo.AllowAutoTopicCreation(), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.MaxBufferedRecords(8192),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		return throughput{}, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	value := make([]byte, size)
	_, _ = rand.Read(value) // never fails (crypto/rand)
	setup, cancel := context.WithTimeout(ctx, measureSetupTimeout)
	err = cl.ProduceSync(setup, &kgo.Record{Value: value}).FirstErr()
	cancel()
	if err != nil {
		return throughput{}, fmt.Errorf("first record to %s: %w", topic, err)
	}

	var acked, bytes atomic.Int64
	var mu sync.Mutex
	var firstErr error
	done := func(r *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
			return
		}
		acked.Add(1)
		bytes.Add(int64(len(r.Value)))
	}
	start := time.Now()
	deadline := start.Add(dur)
	for sent := 0; sent < maxMeasureBytes && time.Now().Before(deadline) && ctx.Err() == nil; sent += size {
		cl.Produce(ctx, &kgo.Record{Value: value}, done)
	}
	if err := cl.Flush(ctx); err != nil {
		return throughput{}, fmt.Errorf("flushing to %s: %w", topic, err)
	}
	took := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	if firstErr != nil {
		return throughput{}, fmt.Errorf("producing to %s: %w", topic, firstErr)
	}
	return throughput{records: acked.Load(), bytes: bytes.Load(), took: took}, nil
}
