package storage

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chronik-stream/chronik/walcodec"
)

// TestOpenGoldenSegments recovers walcodec's golden V2 and V3 segments as
// partition logs: offsets, Raft index and producer state come back, and the
// stored batches are served byte-for-byte.
func TestOpenGoldenSegments(t *testing.T) {
	tests := []struct {
		file     string
		hwm      int64
		raft     uint64
		pid      int64
		retryOff int64 // base offset of the producer's last batch
	}{
		{"golden_v2.log", 10, 0, 1000, 9},
		{"golden_v3.log", 15, 124, 2000, 12},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "..", "walcodec", "testdata", tc.file))
			if err != nil {
				t.Fatalf("golden segment (committed in walcodec/testdata) not readable: %v", err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, walcodec.SegmentName(0, 1)), raw, 0o644); err != nil {
				t.Fatal(err)
			}
			l := openTest(t, dir, DefaultLogConfig())
			if l.HighWatermark() != tc.hwm || l.LastRaftIndex() != tc.raft {
				t.Fatalf("HWM %d, raft index %d; want %d, %d", l.HighWatermark(), l.LastRaftIndex(), tc.hwm, tc.raft)
			}
			res, err := l.Read(0, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			splitBatches(t, res.Records)
			last, err := l.Read(tc.retryOff, 1)
			if err != nil {
				t.Fatal(err)
			}
			h, _ := ParseBatchHeader(last.Records)
			if h.ProducerID != tc.pid {
				t.Fatalf("batch at %d has producer %d", tc.retryOff, h.ProducerID)
			}
			dup, err := l.Append(context.Background(), last.Records, AppendOptions{})
			if err != nil || !dup.Duplicate || dup.BaseOffset != tc.retryOff {
				t.Fatalf("retry of the producer's last batch: %+v, %v", dup, err)
			}
		})
	}
}
