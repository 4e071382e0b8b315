package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-stream/chronik/walcodec"
)

// The golden segments' batches are built by hand in walcodec's tests (that
// package may use only the standard library). Check them here with franz-go's
// kmsg, independently of that code: they must be real Kafka RecordBatches.
func TestGoldenBatchesAreKafkaRecordBatches(t *testing.T) {
	for _, tc := range []struct {
		version int
		keys    string // record keys in offset order, "<nil>" for a null key
	}{
		{2, "k0 k1 <nil> user-1 user-2 g0 g1 g2 g3 k9"},
		{3, "k0 k1 <nil> user-1 user-2 g0 g1 g2 g3 k9 raft-a raft-b z0 z1 z2"},
	} {
		data := goldenSegment(t, tc.version)
		sr := walcodec.NewSegmentReader("golden", bytes.NewReader(data), int64(len(data)), walcodec.ReadAny)
		var keys []string
		var sawHeaders, sawGzip bool
		next := int64(0)
		for {
			rec, _, err := sr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range rec.Canonical {
				var rb kmsg.RecordBatch
				if err := rb.ReadFrom(c.Batch); err != nil {
					t.Fatalf("v%d batch at %d: %v", tc.version, c.BaseOffset, err)
				}
				if rb.Magic != 2 || int(rb.Length) != len(c.Batch)-12 || uint32(rb.CRC) != crc32.Checksum(c.Batch[21:], crc32.MakeTable(crc32.Castagnoli)) {
					t.Fatalf("v%d batch at %d: magic %d length %d crc %#x", tc.version, c.BaseOffset, rb.Magic, rb.Length, uint32(rb.CRC))
				}
				if rb.FirstOffset != c.BaseOffset || rb.FirstOffset != next || rb.LastOffsetDelta != c.LastOffsetDelta ||
					rb.MaxTimestamp != c.MaxTimestamp || rb.ProducerID != c.ProducerID || rb.ProducerEpoch != c.ProducerEpoch || rb.FirstSequence != c.BaseSequence {
					t.Fatalf("v%d batch header %+v disagrees with canonical record %+v", tc.version, rb, c)
				}
				next = c.LastOffset() + 1
				raw := rb.Records
				if rb.Attributes&7 == 1 {
					sawGzip = true
					zr, err := gzip.NewReader(bytes.NewReader(raw))
					if err != nil {
						t.Fatal(err)
					}
					if raw, err = io.ReadAll(zr); err != nil {
						t.Fatal(err)
					}
				}
				for i := int32(0); i < rb.NumRecords; i++ {
					l, n := binary.Varint(raw)
					if n <= 0 || int64(len(raw)-n) < l {
						t.Fatalf("v%d batch at %d: record %d framing", tc.version, c.BaseOffset, i)
					}
					var r kmsg.Record
					if err := r.ReadFrom(raw[:n+int(l)]); err != nil {
						t.Fatal(err)
					}
					raw = raw[n+int(l):]
					if r.OffsetDelta != i {
						t.Fatalf("record %d has offset delta %d", i, r.OffsetDelta)
					}
					k := "<nil>"
					if r.Key != nil {
						k = string(r.Key)
					}
					keys = append(keys, k)
					if k == "user-1" {
						sawHeaders = len(r.Headers) == 2 && r.Headers[0].Key == "trace-id" && string(r.Headers[0].Value) == "4bf92f3577b34da6" &&
							r.Headers[1].Key == "null-header" && r.Headers[1].Value == nil
					}
				}
				if len(raw) != 0 {
					t.Fatalf("v%d batch at %d: %d bytes after the records", tc.version, c.BaseOffset, len(raw))
				}
			}
		}
		if got := strings.Join(keys, " "); got != tc.keys {
			t.Errorf("golden_v%d keys %q, want %q", tc.version, got, tc.keys)
		}
		if !sawHeaders || !sawGzip {
			t.Errorf("golden_v%d: record headers seen %v, gzip batch seen %v", tc.version, sawHeaders, sawGzip)
		}
	}
}
