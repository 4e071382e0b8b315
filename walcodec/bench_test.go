package walcodec_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/chronik-stream/chronik/walcodec"
)

// benchRecord is a V3 record carrying one Kafka batch of 64 records of 1 KiB
// (a ~66 KiB record body).
func benchRecord(b *testing.B) walcodec.Record {
	rng := rand.New(rand.NewPCG(1, 2))
	kb := kBatch{BaseOffset: 0, FirstTimestamp: goldenTS, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
	for i := 0; i < 64; i++ {
		v := make([]byte, 1024)
		for j := range v {
			v[j] = byte(rng.Uint32())
		}
		kb.Records = append(kb.Records, kRecord{Key: []byte{byte(i)}, Value: v})
	}
	return walcodec.Record{Version: walcodec.V3, Type: walcodec.RecordData, Timestamp: goldenTS,
		Raft: &walcodec.RaftMeta{Term: 1, Index: 1, LeaderID: 1}, Canonical: []walcodec.CanonicalRecord{canonical(kb.build(b))}}
}

func BenchmarkEncode(b *testing.B) {
	rec := benchRecord(b)
	buf := make([]byte, 0, walcodec.EncodedSize(&rec))
	b.SetBytes(int64(walcodec.EncodedSize(&rec)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = walcodec.AppendRecord(buf[:0], &rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode decodes and verifies the checksum of one record.
func BenchmarkDecode(b *testing.B) {
	rec := benchRecord(b)
	enc, err := walcodec.AppendRecord(nil, &rec)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := walcodec.DecodeRecord(enc, walcodec.ReadAny); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSegmentReader reads a 16 MiB in-memory segment of such records.
func BenchmarkSegmentReader(b *testing.B) {
	rec := benchRecord(b)
	var seg []byte
	for len(seg) < 16<<20 {
		var err error
		if seg, err = walcodec.AppendRecord(seg, &rec); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(seg)))
	b.ReportAllocs()
	for b.Loop() {
		sr := walcodec.NewSegmentReader("bench.log", bytes.NewReader(seg), int64(len(seg)), walcodec.ReadAny)
		for {
			if _, _, err := sr.Next(); err != nil {
				if !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
				break
			}
		}
	}
}
