package walcodec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Magic numbers open every record; they are also the first four bytes of a segment.
const (
	MagicV2 uint32 = 0x57414C32 // "WAL2"
	MagicV3 uint32 = 0x57414C33 // "WAL3"
)

// Format versions carried in the version byte.
const (
	V2 uint8 = 2
	V3 uint8 = 3
)

// RecordType says what a record's canonical records hold.
type RecordType uint8

const (
	// RecordData holds Kafka RecordBatches of one partition.
	RecordData RecordType = 1
	// RecordMetadata holds metadata-log commands, each wrapped in a Kafka RecordBatch
	// (key = command kind, value = command body) so one log format serves both.
	RecordMetadata RecordType = 2
)

func (t RecordType) String() string {
	switch t {
	case RecordData:
		return "Data"
	case RecordMetadata:
		return "Metadata"
	default:
		return fmt.Sprintf("Unknown(%d)", uint8(t))
	}
}

// Sizes of the fixed parts of the format.
const (
	// HeaderSize is magic + version + length + checksum.
	HeaderSize = 4 + 1 + 4 + 4
	// canonicalHeaderSize is base_offset, last_offset_delta, max_timestamp,
	// producer_id, producer_epoch, base_sequence, batch_len.
	canonicalHeaderSize = 8 + 4 + 8 + 8 + 2 + 4 + 4
	raftMetaSize        = 8 + 8 + 8
	// MaxBodySize bounds the length field: a record body larger than this is
	// framing corruption, never an allocation request.
	MaxBodySize = 256 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum is the CRC-32C (Castagnoli) the format uses.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// RaftMeta ties a V3 record to the Raft entry that produced it.
type RaftMeta struct {
	Term     uint64
	Index    uint64
	LeaderID uint64
}

func (m *RaftMeta) String() string {
	if m == nil {
		return "None"
	}
	return fmt.Sprintf("Some(RaftMetadata { term: %d, index: %d, leader_id: %d })", m.Term, m.Index, m.LeaderID)
}

// CanonicalRecord carries one Kafka RecordBatch byte-for-byte plus what a log
// needs to index it without parsing the batch again.
type CanonicalRecord struct {
	BaseOffset      int64
	LastOffsetDelta int32
	MaxTimestamp    int64
	ProducerID      int64
	ProducerEpoch   int16
	BaseSequence    int32
	// Batch is the Kafka RecordBatch (magic 2) exactly as stored. After
	// decoding it aliases the decoder's input.
	Batch []byte
	// BatchPos is the byte offset of Batch from the start of its encoded
	// record. Set by AppendRecord and DecodeRecord; ignored on input.
	BatchPos int
}

// LastOffset is the offset of the batch's last record.
func (c *CanonicalRecord) LastOffset() int64 { return c.BaseOffset + int64(c.LastOffsetDelta) }

// Record is one WAL record.
type Record struct {
	Version   uint8 // V2 or V3
	Type      RecordType
	Timestamp int64     // unix milliseconds
	Raft      *RaftMeta // V3 only; nil is None
	Canonical []CanonicalRecord
}

// ToV3 converts a record to V3 in place; a V2 record gets raft_meta None.
func (r *Record) ToV3() { r.Version = V3 }

// Errors a decoder reports. Use errors.Is.
var (
	// ErrShort: the bytes end before the record does (a torn tail when at the end of a segment).
	ErrShort = errors.New("walcodec: short record")
	// ErrChecksum: the CRC-32C does not match the bytes it covers.
	ErrChecksum = errors.New("walcodec: InvalidChecksum")
	// ErrFraming: magic, version or a length is not what the format allows.
	ErrFraming = errors.New("walcodec: bad framing")
	// ErrV3InV2Mode: a V2-only reader met a V3 record.
	ErrV3InV2Mode = errors.New("walcodec: WAL3 record: written by v2.x, this build reads only V2")
)

// EncodedSize is the number of bytes AppendRecord will add for r.
func EncodedSize(r *Record) int {
	n := HeaderSize + 1 + 8 + 4
	if r.Version == V3 {
		n++
		if r.Raft != nil {
			n += raftMetaSize
		}
	}
	for i := range r.Canonical {
		n += canonicalHeaderSize + len(r.Canonical[i].Batch)
	}
	return n
}

// AppendRecord appends the encoding of r to dst and sets each canonical
// record's BatchPos. Integers are big-endian.
func AppendRecord(dst []byte, r *Record) ([]byte, error) {
	var magic uint32
	switch r.Version {
	case V2:
		magic = MagicV2
		if r.Raft != nil {
			return dst, fmt.Errorf("walcodec: V2 record cannot carry raft metadata: %w", ErrFraming)
		}
	case V3:
		magic = MagicV3
	default:
		return dst, fmt.Errorf("walcodec: unknown record version %d: %w", r.Version, ErrFraming)
	}
	size := EncodedSize(r)
	if size-HeaderSize > MaxBodySize {
		return dst, fmt.Errorf("walcodec: record body %d bytes exceeds %d: %w", size-HeaderSize, MaxBodySize, ErrFraming)
	}
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, magic)
	dst = append(dst, r.Version)
	dst = binary.BigEndian.AppendUint32(dst, uint32(size-HeaderSize))
	dst = binary.BigEndian.AppendUint32(dst, 0) // checksum, filled below
	dst = append(dst, byte(r.Type))
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.Timestamp))
	if r.Version == V3 {
		if r.Raft == nil {
			dst = append(dst, 0)
		} else {
			dst = append(dst, 1)
			dst = binary.BigEndian.AppendUint64(dst, r.Raft.Term)
			dst = binary.BigEndian.AppendUint64(dst, r.Raft.Index)
			dst = binary.BigEndian.AppendUint64(dst, r.Raft.LeaderID)
		}
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(r.Canonical)))
	for i := range r.Canonical {
		c := &r.Canonical[i]
		dst = binary.BigEndian.AppendUint64(dst, uint64(c.BaseOffset))
		dst = binary.BigEndian.AppendUint32(dst, uint32(c.LastOffsetDelta))
		dst = binary.BigEndian.AppendUint64(dst, uint64(c.MaxTimestamp))
		dst = binary.BigEndian.AppendUint64(dst, uint64(c.ProducerID))
		dst = binary.BigEndian.AppendUint16(dst, uint16(c.ProducerEpoch))
		dst = binary.BigEndian.AppendUint32(dst, uint32(c.BaseSequence))
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(c.Batch)))
		c.BatchPos = len(dst) - start
		dst = append(dst, c.Batch...)
	}
	binary.BigEndian.PutUint32(dst[start+9:], Checksum(dst[start+HeaderSize:]))
	return dst, nil
}

// Mode selects what a decoder accepts.
type Mode uint8

const (
	// ReadAny accepts V2 and V3 (V2 decodes with Raft == nil).
	ReadAny Mode = iota
	// ReadV2Only is what a v1.x reader does: it refuses V3 with ErrV3InV2Mode.
	ReadV2Only
)

// PeekHeader validates the fixed header at the start of b and returns the
// record's total encoded length (header + body). It needs HeaderSize bytes.
func PeekHeader(b []byte, mode Mode) (total int, err error) {
	if len(b) < HeaderSize {
		return 0, ErrShort
	}
	magic := binary.BigEndian.Uint32(b)
	version := b[4]
	switch {
	case magic == MagicV2 && version == V2:
	case magic == MagicV3 && version == V3:
		if mode == ReadV2Only {
			return 0, ErrV3InV2Mode
		}
	default:
		return 0, fmt.Errorf("magic %#08x version %d: %w", magic, version, ErrFraming)
	}
	length := binary.BigEndian.Uint32(b[5:])
	if length > MaxBodySize {
		return 0, fmt.Errorf("body length %d exceeds %d: %w", length, MaxBodySize, ErrFraming)
	}
	return HeaderSize + int(length), nil
}

// DecodeRecord decodes the record at the start of b, verifying its checksum,
// and returns it with the number of bytes it occupied. Batch slices alias b.
// ErrShort means b ends before the record does.
func DecodeRecord(b []byte, mode Mode) (Record, int, error) {
	total, err := PeekHeader(b, mode)
	if err != nil {
		return Record{}, 0, err
	}
	if len(b) < total {
		return Record{}, 0, ErrShort
	}
	body := b[HeaderSize:total]
	if want, got := binary.BigEndian.Uint32(b[9:]), Checksum(body); want != got {
		return Record{}, 0, fmt.Errorf("stored %#08x, computed %#08x: %w", want, got, ErrChecksum)
	}
	r := Record{Version: b[4]}
	d := decoder{b: body}
	r.Type = RecordType(d.u8())
	r.Timestamp = int64(d.u64())
	if r.Version == V3 {
		switch d.u8() {
		case 0:
		case 1:
			r.Raft = &RaftMeta{Term: d.u64(), Index: d.u64(), LeaderID: d.u64()}
		default:
			return Record{}, 0, fmt.Errorf("raft_meta flag not 0 or 1: %w", ErrFraming)
		}
	}
	count := d.u32()
	if d.err != nil {
		return Record{}, 0, d.err
	}
	// Each canonical record needs at least its header: bound the allocation by what is there.
	if uint64(count)*canonicalHeaderSize > uint64(len(body)-d.off) {
		return Record{}, 0, fmt.Errorf("%d canonical records cannot fit in %d bytes: %w", count, len(body)-d.off, ErrFraming)
	}
	r.Canonical = make([]CanonicalRecord, count)
	for i := range r.Canonical {
		c := &r.Canonical[i]
		c.BaseOffset = int64(d.u64())
		c.LastOffsetDelta = int32(d.u32())
		c.MaxTimestamp = int64(d.u64())
		c.ProducerID = int64(d.u64())
		c.ProducerEpoch = int16(d.u16())
		c.BaseSequence = int32(d.u32())
		n := d.u32()
		c.BatchPos = HeaderSize + d.off
		c.Batch = d.bytes(n)
		if d.err != nil {
			return Record{}, 0, d.err
		}
	}
	if d.off != len(body) {
		return Record{}, 0, fmt.Errorf("%d trailing bytes after canonical records: %w", len(body)-d.off, ErrFraming)
	}
	return r, total, nil
}

// decoder reads big-endian fields from a checksummed body; running past the
// end is framing corruption (the checksum already matched).
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) need(n uint64) bool {
	if d.err != nil {
		return false
	}
	if uint64(len(d.b)-d.off) < n {
		d.err = fmt.Errorf("field at body offset %d needs %d bytes, %d left: %w", d.off, n, len(d.b)-d.off, ErrFraming)
		return false
	}
	return true
}

func (d *decoder) u8() uint8 {
	if !d.need(1) {
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *decoder) u16() uint16 {
	if !d.need(2) {
		return 0
	}
	v := binary.BigEndian.Uint16(d.b[d.off:])
	d.off += 2
	return v
}

func (d *decoder) u32() uint32 {
	if !d.need(4) {
		return 0
	}
	v := binary.BigEndian.Uint32(d.b[d.off:])
	d.off += 4
	return v
}

func (d *decoder) u64() uint64 {
	if !d.need(8) {
		return 0
	}
	v := binary.BigEndian.Uint64(d.b[d.off:])
	d.off += 8
	return v
}

func (d *decoder) bytes(n uint32) []byte {
	if !d.need(uint64(n)) {
		return nil
	}
	v := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return v
}
