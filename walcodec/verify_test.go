package walcodec_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chronik-stream/chronik/walcodec"
)

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), walcodec.SegmentName(0, 1))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVerifySegmentTornTail(t *testing.T) {
	recs := mixedRecords(t)
	data, starts := testSegment(t, recs)
	last := starts[len(starts)-1]
	path := writeTemp(t, data[:len(data)-7])
	sum, err := walcodec.VerifySegment(path, walcodec.ReadAny)
	if err != nil {
		t.Fatalf("a torn tail is not an error: %v", err)
	}
	want := walcodec.TornTailError{Path: path, Offset: last, Have: int64(len(data)) - 7 - last, Want: int64(len(data)) - last}
	if sum.TornTail == nil || *sum.TornTail != want {
		t.Fatalf("TornTail %+v, want %+v", sum.TornTail, want)
	}
	if sum.Records != len(recs)-1 || sum.ValidBytes != last || sum.Size != int64(len(data)-7) ||
		sum.V2Records != 1 || sum.V3Records != 3 || sum.RaftRecords != 2 || sum.LastRaftIndex != 10 ||
		sum.Batches != 4 || sum.KafkaRecords != 10 || sum.FirstOffset != 0 || sum.LastOffset != 9 {
		t.Fatalf("summary %+v", sum)
	}
}

func TestVerifySegmentCorrupt(t *testing.T) {
	recs := mixedRecords(t)
	data, starts := testSegment(t, recs)
	bad := bytes.Clone(data)
	bad[starts[3]+40] ^= 0x10
	path := writeTemp(t, bad)
	sum, err := walcodec.VerifySegment(path, walcodec.ReadAny)
	var ce *walcodec.CorruptError
	if !errors.As(err, &ce) || ce.Offset != starts[3] || ce.Path != path || !errors.Is(err, walcodec.ErrChecksum) {
		t.Fatalf("%v, want CorruptError at %d", err, starts[3])
	}
	if sum.Records != 3 || sum.ValidBytes != starts[3] {
		t.Fatalf("summary before the corruption: %+v", sum)
	}
}

func TestVerifySegmentModeAndMissingFile(t *testing.T) {
	data, _ := testSegment(t, mixedRecords(t))
	path := writeTemp(t, data)
	sum, err := walcodec.VerifySegment(path, walcodec.ReadV2Only)
	if !errors.Is(err, walcodec.ErrV3InV2Mode) || sum.Records != 1 {
		t.Fatalf("V2-only: %d records, %v", sum.Records, err)
	}
	missing := filepath.Join(t.TempDir(), "nope.log")
	if _, err := walcodec.VerifySegment(missing, walcodec.ReadAny); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("%v, want not-exist naming the path", err)
	}
}

// Batches whose WAL record is intact but whose own Kafka header is wrong.
func TestVerifySegmentBadBatches(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(recs []walcodec.Record)
		msg    string
	}{
		{"kafka crc", func(recs []walcodec.Record) { recs[1].Canonical[1].Batch[70] ^= 1 }, "CRC-32C"},
		{"magic", func(recs []walcodec.Record) { recs[1].Canonical[1].Batch[16] = 1 }, "magic 1"},
		{"batch length", func(recs []walcodec.Record) {
			binary.BigEndian.PutUint32(recs[1].Canonical[1].Batch[8:], 1)
		}, "batch_length 1"},
		{"short batch", func(recs []walcodec.Record) { recs[1].Canonical[1].Batch = recs[1].Canonical[1].Batch[:60] }, "shorter than a RecordBatch header"},
		{"base offset disagrees", func(recs []walcodec.Record) { recs[1].Canonical[1].BaseOffset = 6 }, "base_offset 5, canonical record says 6"},
		{"last offset delta disagrees", func(recs []walcodec.Record) { recs[1].Canonical[1].LastOffsetDelta = 3 }, "last_offset_delta 0, canonical record says 3"},
		{"offsets go backwards", func(recs []walcodec.Record) {
			recs[1].Canonical[1] = canonical(testBatch(t, 1, 1))
		}, "base offset 1 not after the previous batch's last offset 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := mixedRecords(t)
			tc.mutate(recs)
			data, starts := testSegment(t, recs)
			path := writeTemp(t, data)
			sum, err := walcodec.VerifySegment(path, walcodec.ReadAny)
			var be *walcodec.BatchError
			if !errors.As(err, &be) || !errors.Is(err, walcodec.ErrBadBatch) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("%v, want a BatchError mentioning %q", err, tc.msg)
			}
			wantOff := starts[1] + int64(recs[1].Canonical[1].BatchPos)
			if be.Offset != wantOff || be.Record != starts[1] || be.Path != path {
				t.Fatalf("BatchError %+v, want batch at %d in record at %d", be, wantOff, starts[1])
			}
			if sum.Records != len(recs) || sum.BadBatches != 1 || sum.FirstBadBatch != be || sum.ValidBytes != int64(len(data)) {
				t.Fatalf("summary %+v", sum)
			}
		})
	}
}
