package storage

import (
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-stream/chronik/walcodec"
)

// Layout of a Kafka RecordBatch (magic 2) header; all integers big-endian.
const (
	// BatchHeaderSize is the fixed header, base offset through record count.
	BatchHeaderSize = 61

	batchLengthPos      = 8  // int32: bytes after this field
	batchLengthOverhead = 12 // base offset + length field
	batchMagicPos       = 16
	batchCRCPos         = 17
	batchCRCFrom        = 21 // the CRC-32C covers attributes .. end
	batchAttributesPos  = 21

	attrControl = 0x20 // control batch (transaction marker)
)

// BatchHeader is the fixed header of a Kafka RecordBatch (magic 2).
type BatchHeader struct {
	BaseOffset           int64
	Length               int32 // bytes after the Length field
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	FirstTimestamp       int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	NumRecords           int32
}

// Size is the whole batch's size in bytes.
func (h *BatchHeader) Size() int { return int(h.Length) + batchLengthOverhead }

// IsControl reports a control batch (transaction marker).
func (h *BatchHeader) IsControl() bool { return h.Attributes&attrControl != 0 }

// ParseBatchHeader parses and checks the RecordBatch at the start of b: the
// batch length must fit in b and cover the header, magic must be 2 and the
// CRC-32C over attributes..end must match. Bytes after the batch are ignored.
// Errors wrap kerr.CorruptMessage.
func ParseBatchHeader(b []byte) (BatchHeader, error) {
	h, err := parseBatchHeader(b)
	if err != nil {
		return h, err
	}
	if got := walcodec.Checksum(b[batchCRCFrom:h.Size()]); got != h.CRC {
		return h, fmt.Errorf("record batch crc-32c mismatch: stored %#08x, computed %#08x: %w", h.CRC, got, kerr.CorruptMessage)
	}
	return h, nil
}

// parseBatchHeader is ParseBatchHeader without the CRC check.
func parseBatchHeader(b []byte) (BatchHeader, error) {
	if len(b) < BatchHeaderSize {
		return BatchHeader{}, fmt.Errorf("record batch: %d bytes, shorter than a batch header (%d): %w", len(b), BatchHeaderSize, kerr.CorruptMessage)
	}
	be := binary.BigEndian
	h := BatchHeader{
		BaseOffset:           int64(be.Uint64(b[0:])),
		Length:               int32(be.Uint32(b[batchLengthPos:])),
		PartitionLeaderEpoch: int32(be.Uint32(b[12:])),
		Magic:                int8(b[batchMagicPos]),
		CRC:                  be.Uint32(b[batchCRCPos:]),
		Attributes:           int16(be.Uint16(b[batchAttributesPos:])),
		LastOffsetDelta:      int32(be.Uint32(b[23:])),
		FirstTimestamp:       int64(be.Uint64(b[27:])),
		MaxTimestamp:         int64(be.Uint64(b[35:])),
		ProducerID:           int64(be.Uint64(b[43:])),
		ProducerEpoch:        int16(be.Uint16(b[51:])),
		BaseSequence:         int32(be.Uint32(b[53:])),
		NumRecords:           int32(be.Uint32(b[57:])),
	}
	if h.Magic != 2 {
		return h, fmt.Errorf("record batch magic %d: only magic 2 is supported: %w", h.Magic, kerr.CorruptMessage)
	}
	if int64(h.Length) < BatchHeaderSize-batchLengthOverhead || int64(h.Length)+batchLengthOverhead > int64(len(b)) {
		return h, fmt.Errorf("record batch length %d: want %d..%d: %w", h.Length, BatchHeaderSize-batchLengthOverhead, len(b)-batchLengthOverhead, kerr.CorruptMessage)
	}
	return h, nil
}

// checkBatchCounts applies the broker's record-count rules to a parsed batch:
// at least one record, and offsets 0..lastOffsetDelta covering exactly
// numRecords records. Errors wrap kerr.InvalidRecord.
func checkBatchCounts(h *BatchHeader) error {
	if h.NumRecords <= 0 {
		return fmt.Errorf("record batch holds %d records: %w", h.NumRecords, kerr.InvalidRecord)
	}
	if h.LastOffsetDelta < 0 || int64(h.LastOffsetDelta)+1 != int64(h.NumRecords) {
		return fmt.Errorf("record batch last offset delta %d does not match its %d records: %w", h.LastOffsetDelta, h.NumRecords, kerr.InvalidRecord)
	}
	return nil
}
