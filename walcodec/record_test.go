package walcodec_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"runtime"
	"testing"

	"github.com/chronik-stream/chronik/walcodec"
)

// testBatch is a small valid Kafka batch at baseOffset holding n records.
func testBatch(tb testing.TB, baseOffset int64, n int) []byte {
	kb := kBatch{BaseOffset: baseOffset, PartitionLeaderEpoch: -1, FirstTimestamp: goldenTS, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
	for i := 0; i < n; i++ {
		kb.Records = append(kb.Records, kRecord{TimestampDelta: int64(i), Key: []byte{byte('a' + i%26)}, Value: bytes.Repeat([]byte{byte(i)}, 16)})
	}
	return kb.build(tb)
}

func roundTripCases(tb testing.TB) []struct {
	name string
	rec  walcodec.Record
} {
	b0, b1 := testBatch(tb, 0, 3), testBatch(tb, 3, 5)
	return []struct {
		name string
		rec  walcodec.Record
	}{
		{"v2 no batches", walcodec.Record{Version: walcodec.V2, Type: walcodec.RecordData, Timestamp: goldenTS}},
		{"v2 one batch", walcodec.Record{Version: walcodec.V2, Type: walcodec.RecordData, Timestamp: goldenTS,
			Canonical: []walcodec.CanonicalRecord{canonical(b0)}}},
		{"v2 two batches", walcodec.Record{Version: walcodec.V2, Type: walcodec.RecordData, Timestamp: -1,
			Canonical: []walcodec.CanonicalRecord{canonical(b0), canonical(b1)}}},
		{"v2 metadata type, empty batch bytes", walcodec.Record{Version: walcodec.V2, Type: walcodec.RecordMetadata, Timestamp: 0,
			Canonical: []walcodec.CanonicalRecord{{BaseOffset: 7, Batch: []byte{}}}}},
		{"v3 raft none", walcodec.Record{Version: walcodec.V3, Type: walcodec.RecordData, Timestamp: goldenTS,
			Canonical: []walcodec.CanonicalRecord{canonical(b0), canonical(b1)}}},
		{"v3 raft some", walcodec.Record{Version: walcodec.V3, Type: walcodec.RecordData, Timestamp: goldenTS,
			Raft:      &walcodec.RaftMeta{Term: 1, Index: 123, LeaderID: 1},
			Canonical: []walcodec.CanonicalRecord{canonical(b1)}}},
		{"v3 raft extremes, no batches", walcodec.Record{Version: walcodec.V3, Type: walcodec.RecordMetadata, Timestamp: math.MinInt64,
			Raft: &walcodec.RaftMeta{Term: math.MaxUint64, Index: math.MaxUint64, LeaderID: 0}}},
		{"v3 extreme canonical fields", walcodec.Record{Version: walcodec.V3, Type: walcodec.RecordType(9), Timestamp: math.MaxInt64,
			Canonical: []walcodec.CanonicalRecord{{BaseOffset: math.MaxInt64, LastOffsetDelta: math.MinInt32, MaxTimestamp: math.MinInt64,
				ProducerID: -1, ProducerEpoch: math.MinInt16, BaseSequence: math.MaxInt32, Batch: []byte("x")}}}},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, tc := range roundTripCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.rec
			enc, err := walcodec.AppendRecord([]byte("prefix"), &rec)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(enc, []byte("prefix")) {
				t.Fatal("AppendRecord clobbered dst")
			}
			enc = enc[len("prefix"):]
			if walcodec.EncodedSize(&rec) != len(enc) {
				t.Fatalf("EncodedSize %d, encoded %d bytes", walcodec.EncodedSize(&rec), len(enc))
			}
			wantMagic := map[uint8]uint32{walcodec.V2: walcodec.MagicV2, walcodec.V3: walcodec.MagicV3}[rec.Version]
			if got := binary.BigEndian.Uint32(enc); got != wantMagic || enc[4] != rec.Version {
				t.Fatalf("header magic %#x version %d", got, enc[4])
			}
			if total, err := walcodec.PeekHeader(enc, walcodec.ReadAny); err != nil || total != len(enc) {
				t.Fatalf("PeekHeader = %d, %v; want %d", total, err, len(enc))
			}
			// Trailing bytes belong to the next record and are not consumed.
			withNext := append(bytes.Clone(enc), 0x57, 0x41)
			got, n, err := walcodec.DecodeRecord(withNext, walcodec.ReadAny)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(enc) {
				t.Fatalf("consumed %d bytes, want %d", n, len(enc))
			}
			normalize(&got)
			normalize(&rec)
			if !reflect.DeepEqual(got, rec) {
				t.Fatalf("decoded\n %+v\nwant\n %+v", got, rec)
			}
			for _, c := range got.Canonical {
				if !bytes.Equal(enc[c.BatchPos:c.BatchPos+len(c.Batch)], c.Batch) {
					t.Errorf("BatchPos %d does not locate the batch", c.BatchPos)
				}
			}
			again, err := walcodec.AppendRecord(nil, &got)
			if err != nil || !bytes.Equal(again, enc) {
				t.Fatalf("re-encode differs (err %v)", err)
			}
			_, _, err = walcodec.DecodeRecord(enc, walcodec.ReadV2Only)
			switch rec.Version {
			case walcodec.V2:
				if err != nil {
					t.Errorf("V2-only decode of a V2 record: %v", err)
				}
			case walcodec.V3:
				if !errors.Is(err, walcodec.ErrV3InV2Mode) {
					t.Errorf("V2-only decode of a V3 record: %v, want ErrV3InV2Mode", err)
				}
			}
		})
	}
}

// normalize makes empty slices comparable with DeepEqual.
func normalize(r *walcodec.Record) {
	if len(r.Canonical) == 0 {
		r.Canonical = nil
	}
	for i := range r.Canonical {
		if len(r.Canonical[i].Batch) == 0 {
			r.Canonical[i].Batch = []byte{}
		}
	}
}

func TestToV3KeepsBatchBytes(t *testing.T) {
	for _, tc := range roundTripCases(t) {
		if tc.rec.Version != walcodec.V2 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			v2 := tc.rec
			enc2, err := walcodec.AppendRecord(nil, &v2)
			if err != nil {
				t.Fatal(err)
			}
			dec, _, err := walcodec.DecodeRecord(enc2, walcodec.ReadAny)
			if err != nil {
				t.Fatal(err)
			}
			dec.ToV3()
			enc3, err := walcodec.AppendRecord(nil, &dec)
			if err != nil {
				t.Fatal(err)
			}
			// V3 adds exactly the raft_meta presence byte (None).
			if len(enc3) != len(enc2)+1 || binary.BigEndian.Uint32(enc3) != walcodec.MagicV3 {
				t.Fatalf("V3 encoding: %d bytes (V2 %d), magic %#x", len(enc3), len(enc2), binary.BigEndian.Uint32(enc3))
			}
			got, _, err := walcodec.DecodeRecord(enc3, walcodec.ReadAny)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != walcodec.V3 || got.Raft != nil || got.Type != v2.Type || got.Timestamp != v2.Timestamp || len(got.Canonical) != len(v2.Canonical) {
				t.Fatalf("converted record %+v", got)
			}
			for i, c := range got.Canonical {
				want := v2.Canonical[i]
				if !bytes.Equal(c.Batch, want.Batch) {
					t.Errorf("batch %d bytes changed", i)
				}
				c.Batch, c.BatchPos, want.Batch, want.BatchPos = nil, 0, nil, 0
				if !reflect.DeepEqual(c, want) {
					t.Errorf("canonical %d: %+v, want %+v", i, c, want)
				}
			}
		})
	}
}

func TestAppendRecordRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  walcodec.Record
	}{
		{"v2 with raft meta", walcodec.Record{Version: walcodec.V2, Raft: &walcodec.RaftMeta{Term: 1}}},
		{"version 0", walcodec.Record{Version: 0}},
		{"version 4", walcodec.Record{Version: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("keep")
			out, err := walcodec.AppendRecord(dst, &tc.rec)
			if !errors.Is(err, walcodec.ErrFraming) {
				t.Fatalf("err %v, want ErrFraming", err)
			}
			if string(out) != "keep" {
				t.Fatalf("dst changed to %q", out)
			}
		})
	}
}

// fixChecksum rewrites a record's length and checksum to cover body, so a
// test reaches the body decoder with hostile contents.
func fixChecksum(rec []byte) []byte {
	binary.BigEndian.PutUint32(rec[5:], uint32(len(rec)-walcodec.HeaderSize))
	binary.BigEndian.PutUint32(rec[9:], walcodec.Checksum(rec[walcodec.HeaderSize:]))
	return rec
}

// rawRecord builds a record header for magic/version around body.
func rawRecord(magic uint32, version uint8, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	b = append(b, version)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, 0)
	return fixChecksum(append(b, body...))
}

func TestDecodeRecordErrors(t *testing.T) {
	good, err := walcodec.AppendRecord(nil, &walcodec.Record{Version: walcodec.V3, Type: walcodec.RecordData, Timestamp: 5,
		Raft: &walcodec.RaftMeta{Term: 1, Index: 2, LeaderID: 3}, Canonical: []walcodec.CanonicalRecord{canonical(testBatch(t, 0, 2))}})
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	// body fields after the V3 raft meta: type(1) ts(8) flag(1) raft(24) count(4)
	const countAt = walcodec.HeaderSize + 1 + 8 + 1 + 24
	const batchLenAt = countAt + 4 + 8 + 4 + 8 + 8 + 2 + 4
	for _, tc := range []struct {
		name string
		in   []byte
		mode walcodec.Mode
		want error
	}{
		{"empty", nil, walcodec.ReadAny, walcodec.ErrShort},
		{"partial header", good[:walcodec.HeaderSize-1], walcodec.ReadAny, walcodec.ErrShort},
		{"header only", good[:walcodec.HeaderSize], walcodec.ReadAny, walcodec.ErrShort},
		{"one byte short", good[:len(good)-1], walcodec.ReadAny, walcodec.ErrShort},
		{"bad magic", mutate(func(b []byte) []byte { b[0] = 'X'; return b }), walcodec.ReadAny, walcodec.ErrFraming},
		{"magic/version mismatch", mutate(func(b []byte) []byte { b[4] = walcodec.V2; return b }), walcodec.ReadAny, walcodec.ErrFraming},
		{"v3 in v2 mode", good, walcodec.ReadV2Only, walcodec.ErrV3InV2Mode},
		{"length 0xFFFFFFFF", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[5:], math.MaxUint32); return b }), walcodec.ReadAny, walcodec.ErrFraming},
		{"length MaxBodySize+1", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[5:], walcodec.MaxBodySize+1); return b }), walcodec.ReadAny, walcodec.ErrFraming},
		{"length MaxBodySize, short input", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[5:], walcodec.MaxBodySize); return b }), walcodec.ReadAny, walcodec.ErrShort},
		{"checksum flipped", mutate(func(b []byte) []byte { b[9] ^= 1; return b }), walcodec.ReadAny, walcodec.ErrChecksum},
		{"body flipped", mutate(func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b }), walcodec.ReadAny, walcodec.ErrChecksum},
		{"length shortened", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[5:], binary.BigEndian.Uint32(b[5:])-1)
			return b
		}), walcodec.ReadAny, walcodec.ErrChecksum},
		{"empty body", rawRecord(walcodec.MagicV2, walcodec.V2, nil), walcodec.ReadAny, walcodec.ErrFraming},
		{"v3 body ends before raft meta", rawRecord(walcodec.MagicV3, walcodec.V3, append(make([]byte, 9), 1)), walcodec.ReadAny, walcodec.ErrFraming},
		{"raft flag 2", mutate(func(b []byte) []byte { b[walcodec.HeaderSize+9] = 2; return fixChecksum(b) }), walcodec.ReadAny, walcodec.ErrFraming},
		{"count 0xFFFFFFFF", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[countAt:], math.MaxUint32); return fixChecksum(b) }), walcodec.ReadAny, walcodec.ErrFraming},
		{"count 2 of 1", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[countAt:], 2); return fixChecksum(b) }), walcodec.ReadAny, walcodec.ErrFraming},
		{"count 0 of 1 (trailing bytes)", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[countAt:], 0); return fixChecksum(b) }), walcodec.ReadAny, walcodec.ErrFraming},
		{"batch length 0xFFFFFFFF", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[batchLenAt:], math.MaxUint32)
			return fixChecksum(b)
		}), walcodec.ReadAny, walcodec.ErrFraming},
		{"batch length +1", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[batchLenAt:], binary.BigEndian.Uint32(b[batchLenAt:])+1)
			return fixChecksum(b)
		}), walcodec.ReadAny, walcodec.ErrFraming},
		{"batch length -1 (trailing byte)", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[batchLenAt:], binary.BigEndian.Uint32(b[batchLenAt:])-1)
			return fixChecksum(b)
		}), walcodec.ReadAny, walcodec.ErrFraming},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, n, err := walcodec.DecodeRecord(tc.in, tc.mode)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if n != 0 || rec.Canonical != nil {
				t.Fatalf("failed decode returned n=%d, %d canonical records", n, len(rec.Canonical))
			}
		})
	}
}

// Hostile counts and lengths must not turn into allocations: a body of a few
// dozen bytes claiming 4 billion canonical records or a 4 GiB batch costs
// no more than a few hundred bytes.
func TestDecodeRecordHostileLengthsDoNotAllocate(t *testing.T) {
	count := rawRecord(walcodec.MagicV2, walcodec.V2, binary.BigEndian.AppendUint32(make([]byte, 9), math.MaxUint32))
	batch := append(make([]byte, 9), 0, 0, 0, 1)        // count 1
	batch = append(batch, make([]byte, 8+4+8+8+2+4)...) // canonical header fields
	batch = binary.BigEndian.AppendUint32(batch, math.MaxUint32)
	batchLen := rawRecord(walcodec.MagicV2, walcodec.V2, batch)
	huge := bytes.Clone(count)
	binary.BigEndian.PutUint32(huge[5:], walcodec.MaxBodySize)
	for name, in := range map[string][]byte{"count": count, "batch length": batchLen, "body length": huge} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := 0; i < 100; i++ {
			if _, _, err := walcodec.DecodeRecord(in, walcodec.ReadAny); err == nil {
				t.Fatalf("%s: hostile record decoded", name)
			}
		}
		runtime.ReadMemStats(&after)
		if perCall := (after.TotalAlloc - before.TotalAlloc) / 100; perCall > 4096 {
			t.Errorf("%s: %d bytes allocated per decode", name, perCall)
		}
	}
}
