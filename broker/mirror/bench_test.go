package mirror_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkMirror100k mirrors 100,000 records of 1 KiB (3 partitions) between two in-process
// nodes and reports records/s and MB/s from Start until the destination acknowledged the last
// record. Run: go test -run '^$' -bench Mirror100k -benchtime 1x ./broker/mirror/
func BenchmarkMirror100k(b *testing.B) {
	const (
		records    = 100_000
		valueBytes = 1024
		partitions = 3
	)
	srcNode := startNode(b)
	src := newClient(b, srcNode.KafkaAddr(), kgo.ProducerLinger(5*time.Millisecond))
	createTopic(b, src, "bench", partitions, nil)
	batch := make([]*kgo.Record, 0, 5000)
	for i := range records {
		v := make([]byte, valueBytes)
		_, _ = rand.Read(v)
		batch = append(batch, &kgo.Record{Topic: "bench", Partition: int32(i % partitions), Value: v})
		if len(batch) == cap(batch) {
			produce(b, src, batch)
			batch = batch[:0]
		}
	}
	ends := hwms(b, src, "bench", partitions)

	var elapsed time.Duration
	for range b.N {
		b.StopTimer()
		dstNode := startNode(b)
		m, stop := runManager(b, b.TempDir(), dstNode.KafkaAddr())
		b.StartTimer()
		began := time.Now()
		id := startMirror(b, m, srcNode.KafkaAddr(), "bench")
		waitMirrored(b, m, id, map[string][]int64{"bench": ends})
		elapsed += time.Since(began)
		b.StopTimer()
		stop()
		_ = dstNode.Shutdown(context.Background())
	}
	secs := elapsed.Seconds()
	b.ReportMetric(float64(records*b.N)/secs, "records/s")
	b.ReportMetric(float64(records*valueBytes*b.N)/secs/1e6, "MB/s")
	b.Logf("mirrored %d records of %d B in %v: %.0f records/s, %.1f MB/s",
		records*b.N, valueBytes, elapsed, float64(records*b.N)/secs, float64(records*valueBytes*b.N)/secs/1e6)
}
