package walcodec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Layout of a Kafka RecordBatch (magic 2) header, as far as VerifySegment reads it.
const (
	batchHeaderSize  = 61 // base_offset .. num_records
	batchLengthPos   = 8  // int32: bytes after this field
	batchMagicPos    = 16 // int8: 2
	batchCRCPos      = 17 // uint32: CRC-32C of bytes 21..end
	batchCRCFrom     = 21
	batchLastDeltaAt = 23 // int32 last_offset_delta
	batchNumRecsPos  = 57 // int32 num_records
)

// ErrBadBatch: a Kafka RecordBatch stored in a valid record is inconsistent
// (short header, wrong magic or length, CRC-32C mismatch, offsets that do not
// match its canonical record or go backwards).
var ErrBadBatch = errors.New("walcodec: inconsistent kafka batch")

// BatchError locates a bad Kafka RecordBatch inside a segment.
type BatchError struct {
	Path   string
	Offset int64 // byte offset of the batch in the segment
	Record int64 // byte offset of the WAL record that holds it
	Err    error // wraps ErrBadBatch
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("walcodec: segment %s: kafka batch at offset %d (record at offset %d): %v", e.Path, e.Offset, e.Record, e.Err)
}

func (e *BatchError) Unwrap() error { return e.Err }

// SegmentSummary is what VerifySegment found in a segment.
type SegmentSummary struct {
	Path       string
	Size       int64 // bytes in the file
	ValidBytes int64 // bytes of complete, verified records from the start

	Records     int // WAL records
	V2Records   int
	V3Records   int
	RaftRecords int // V3 records with raft_meta present

	Batches      int   // canonical records, i.e. Kafka RecordBatches
	KafkaRecords int64 // sum of the batches' num_records header fields
	FirstOffset  int64 // base offset of the first batch (valid when Batches > 0)
	LastOffset   int64 // last offset of the last batch (valid when Batches > 0)

	FirstTimestamp int64 // WAL record timestamps, unix ms (valid when Records > 0)
	LastTimestamp  int64
	LastRaftIndex  uint64 // highest raft_meta.index seen (0 if none)

	BadBatches    int         // batches failing the RecordBatch checks
	FirstBadBatch *BatchError // the first of them

	TornTail *TornTailError // set when the segment ends in a torn record
}

// VerifySegment reads the whole segment at path, verifying every record's
// checksum and, for every Kafka RecordBatch inside, its header (magic, length,
// CRC-32C, offsets consistent with the canonical record and increasing).
//
// A torn tail is not an error: it is reported in the summary's TornTail. The
// error is non-nil when the file cannot be read, when a record is corrupt
// (*CorruptError) or refused by mode (ErrV3InV2Mode) — the summary then covers
// the records before it — or, after a complete read, when some batch is bad
// (the first *BatchError).
func VerifySegment(path string, mode Mode) (SegmentSummary, error) {
	f, err := os.Open(path)
	if err != nil {
		return SegmentSummary{Path: path}, fmt.Errorf("walcodec: verify segment: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return SegmentSummary{Path: path}, fmt.Errorf("walcodec: verify segment: %w", err)
	}
	return verifySegment(NewSegmentReader(path, f, st.Size(), mode), path, st.Size())
}

func verifySegment(sr *SegmentReader, path string, size int64) (SegmentSummary, error) {
	sum := SegmentSummary{Path: path, Size: size}
	prevLast := int64(-1)
read:
	for {
		rec, pos, err := sr.Next()
		if err != nil {
			var torn *TornTailError
			switch {
			case errors.Is(err, io.EOF):
			case errors.As(err, &torn):
				sum.TornTail = torn
			default:
				return sum, err
			}
			break read
		}
		sum.ValidBytes = pos + int64(EncodedSize(&rec))
		if sum.Records == 0 {
			sum.FirstTimestamp = rec.Timestamp
		}
		sum.LastTimestamp = rec.Timestamp
		sum.Records++
		if rec.Version == V2 {
			sum.V2Records++
		} else {
			sum.V3Records++
		}
		if rec.Raft != nil {
			sum.RaftRecords++
			sum.LastRaftIndex = max(sum.LastRaftIndex, rec.Raft.Index)
		}
		for i := range rec.Canonical {
			c := &rec.Canonical[i]
			if sum.Batches == 0 {
				sum.FirstOffset = c.BaseOffset
			}
			sum.LastOffset = c.LastOffset()
			sum.Batches++
			n, err := checkBatch(c, prevLast)
			sum.KafkaRecords += int64(n)
			if err == nil {
				prevLast = c.LastOffset() // a bad batch does not make the next one look bad too
			} else {
				sum.BadBatches++
				if sum.FirstBadBatch == nil {
					sum.FirstBadBatch = &BatchError{Path: path, Offset: pos + int64(c.BatchPos), Record: pos, Err: err}
				}
			}
		}
	}
	if sum.FirstBadBatch != nil {
		return sum, sum.FirstBadBatch
	}
	return sum, nil
}

// checkBatch checks the RecordBatch header of c against c itself and returns
// its num_records (0 when the header is too short to hold it).
func checkBatch(c *CanonicalRecord, prevLast int64) (numRecords int32, err error) {
	b := c.Batch
	if len(b) < batchHeaderSize {
		return 0, fmt.Errorf("%d bytes, shorter than a RecordBatch header (%d): %w", len(b), batchHeaderSize, ErrBadBatch)
	}
	numRecords = int32(binary.BigEndian.Uint32(b[batchNumRecsPos:]))
	switch {
	case b[batchMagicPos] != 2:
		return numRecords, fmt.Errorf("magic %d, want 2: %w", b[batchMagicPos], ErrBadBatch)
	case int64(int32(binary.BigEndian.Uint32(b[batchLengthPos:]))) != int64(len(b)-batchLengthPos-4):
		return numRecords, fmt.Errorf("batch_length %d, but %d bytes follow it: %w",
			int32(binary.BigEndian.Uint32(b[batchLengthPos:])), len(b)-batchLengthPos-4, ErrBadBatch)
	}
	if want, got := binary.BigEndian.Uint32(b[batchCRCPos:]), Checksum(b[batchCRCFrom:]); want != got {
		return numRecords, fmt.Errorf("CRC-32C stored %#08x, computed %#08x: %w", want, got, ErrBadBatch)
	}
	if bo := int64(binary.BigEndian.Uint64(b)); bo != c.BaseOffset {
		return numRecords, fmt.Errorf("base_offset %d, canonical record says %d: %w", bo, c.BaseOffset, ErrBadBatch)
	}
	if d := int32(binary.BigEndian.Uint32(b[batchLastDeltaAt:])); d != c.LastOffsetDelta {
		return numRecords, fmt.Errorf("last_offset_delta %d, canonical record says %d: %w", d, c.LastOffsetDelta, ErrBadBatch)
	}
	if c.BaseOffset <= prevLast {
		return numRecords, fmt.Errorf("base offset %d not after the previous batch's last offset %d: %w", c.BaseOffset, prevLast, ErrBadBatch)
	}
	return numRecords, nil
}
