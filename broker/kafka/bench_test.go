package kafka

import (
	"context"
	"testing"
)

// BenchmarkFetchHandler measures one sessionless fetch of ~1 MiB of stored batches.
func BenchmarkFetchHandler(b *testing.B) {
	tb := startBroker(b, nil)
	tb.createTopic(b, "bench", 1, nil)
	batch := makeBatch(1, string(make([]byte, 16<<10)))
	for i := 0; i < 64; i++ {
		req := produceReq(8, 1, "bench", 0, batch)
		if _, err := tb.srv.handleProduce(context.Background(), &requestContext{}, req); err != nil {
			b.Fatal(err)
		}
	}
	req := fetchReq(11, "bench", 0, 0, 0, 1)
	b.ReportAllocs()
	b.SetBytes(64 * int64(len(batch)))
	for b.Loop() {
		resp := tb.srv.handleFetch(context.Background(), req)
		if len(resp.Topics[0].Partitions[0].RecordBatches) == 0 {
			b.Fatal("no records")
		}
	}
}

// BenchmarkProduceHandler measures one acks=1 produce of a 16 KiB batch (includes the fsync).
func BenchmarkProduceHandler(b *testing.B) {
	tb := startBroker(b, nil)
	tb.createTopic(b, "bench", 1, nil)
	req := produceReq(8, 1, "bench", 0, makeBatch(1, string(make([]byte, 16<<10))))
	b.ReportAllocs()
	b.SetBytes(int64(len(req.Topics[0].Partitions[0].Records)))
	for b.Loop() {
		resp, err := tb.srv.handleProduce(context.Background(), &requestContext{}, req)
		if err != nil || resp.Topics[0].Partitions[0].ErrorCode != 0 {
			b.Fatal(err)
		}
	}
}
