package storage

import (
	"context"
	"fmt"
	"testing"
)

// benchRecords 1 KiB records (1011-byte values plus ~13 bytes of record
// framing) make a 16 KiB RecordBatch.
const benchRecords = 16

func benchBatch(b *testing.B) []byte {
	return makeBatch(b, spec{records: benchRecords, valueSize: 1011})
}

// BenchmarkAppend measures fsync'd group-commit throughput with many
// concurrent appenders (each waits for durability, like acks=1 producers).
func BenchmarkAppend(b *testing.B) {
	for _, appenders := range []int{64, 256} {
		b.Run(fmt.Sprintf("appenders=%d", appenders), func(b *testing.B) {
			l := openTest(b, b.TempDir(), DefaultLogConfig())
			batch := benchBatch(b)
			b.SetBytes(int64(len(batch)))
			b.SetParallelism(max(1, appenders/benchProcs()))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := l.Append(context.Background(), batch, AppendOptions{}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
		})
	}
}

// BenchmarkRead measures sequential 1 MiB fetches from a filled log.
func BenchmarkRead(b *testing.B) {
	l := openTest(b, b.TempDir(), DefaultLogConfig())
	batch := benchBatch(b)
	const total = 64 << 20
	for n := 0; n < total; n += len(batch) {
		if _, err := l.Append(context.Background(), batch, AppendOptions{NoWait: true}); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Sync(); err != nil {
		b.Fatal(err)
	}
	hwm := l.HighWatermark()
	b.ReportAllocs()
	b.ResetTimer()
	var bytesRead int64
	off := int64(0)
	for i := 0; i < b.N; i++ {
		res, err := l.Read(off, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		bytesRead += int64(len(res.Records))
		off += benchRecords * int64(len(res.Records)/len(batch))
		if off >= hwm {
			off = 0
		}
	}
	b.StopTimer()
	b.SetBytes(bytesRead / int64(b.N))
}
