package walmigrate

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chronik-stream/chronik/walcodec"
)

// writeV2Segment writes a V2 segment of about size bytes: WAL records of
// four 16-record batches each, offsets contiguous.
func writeV2Segment(b *testing.B, path string, size int64) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := walcodec.NewWriter(bw)
	batch := testBatch(b, 16, "payload-", -1, 0)
	off := int64(0)
	for w.Written() < size {
		rec := walcodec.Record{Version: walcodec.V2, Type: 1, Timestamp: 1700000000000}
		for i := 0; i < 4; i++ {
			c := make([]byte, len(batch))
			copy(c, batch)
			binaryPutBase(c, off)
			rec.Canonical = append(rec.Canonical, walcodec.CanonicalRecord{
				BaseOffset: off, LastOffsetDelta: 15, MaxTimestamp: 1700000000015,
				ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, Batch: c})
			off += 16
		}
		if _, err := w.Append(&rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkConvertSegment converts one 32 MiB V2 segment to V3 (verify and
// fsync included): go test -run ^$ -bench ConvertSegment ./broker/walmigrate
func BenchmarkConvertSegment(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "wal_0_0.log")
	writeV2Segment(b, src, 32<<20)
	st, err := os.Stat(src)
	if err != nil {
		b.Fatal(err)
	}
	seg := segmentFile{Rel: "wal_0_0.log", Path: src, Size: st.Size(), Last: true, Version: walcodec.V2}
	b.SetBytes(st.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst := filepath.Join(dir, fmt.Sprintf("out-%d.log", i%2))
		res, err := convertSegment(context.Background(), seg, dst, false)
		if err != nil {
			b.Fatal(err)
		}
		if res.KeptBytes != st.Size() || res.Torn != nil {
			b.Fatalf("kept %d of %d bytes, torn %v", res.KeptBytes, st.Size(), res.Torn)
		}
	}
}
