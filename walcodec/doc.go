// Package walcodec encodes and decodes Chronik's write-ahead-log records and
// segments (formats V2 and V3). It imports only the standard library and has
// no I/O policy: no fsync, no file rolling, no truncation — callers decide.
//
// # Record
//
// A record is a fixed 13-byte header followed by a checksummed body
// (integers big-endian; docs/wal-format.md has the byte diagram):
//
//	magic u32 ("WAL2" | "WAL3") · version u8 (2 | 3) · length u32 · checksum u32
//	body: record_type u8 · timestamp i64 · [V3: raft_meta] · count u32 · count × CanonicalRecord
//
// The checksum is CRC-32C (Castagnoli) over exactly the length bytes of the
// body. A CanonicalRecord carries one Kafka RecordBatch byte-for-byte; the
// codec never looks inside it (only VerifySegment reads the batch header).
//
// AppendRecord encodes, DecodeRecord decodes and verifies one record from a
// byte slice; batches of a decoded record alias the input. Re-encoding a
// decoded record gives back the same bytes.
//
// # Versions
//
// ReadAny accepts V2 and V3; a V2 record decodes with Raft == nil ("None").
// ReadV2Only is what a v1.x reader does: a V3 record fails with ErrV3InV2Mode.
// Record.ToV3 converts a V2 record; its batches stay byte-identical.
//
// # Segments
//
// A segment file is records back to back with no file header, named
// SegmentName(partition, seq) = "wal_<partition>_<seq, 8 digits>.log".
// SegmentReader walks a segment and classifies how it ends:
//
//   - io.EOF: the last record ends exactly at the end of the file.
//   - *TornTailError: the final record is incomplete — fewer bytes remain
//     than its header, or than the length its header declares — and no
//     complete, valid record follows its start. This is what a crash during a
//     write leaves; recovery truncates the file at TornTailError.Offset.
//   - *CorruptError: anything else that does not decode: a checksum mismatch
//     (also in a complete final record), bad magic/version/length, a broken
//     body, trailing garbage that is not a record prefix, or a length that
//     runs past the end of the file while a valid record still follows.
//     Errors name the segment path and the byte offset of the bad record.
//
// Readers never allocate from an untrusted length: a body length above
// MaxBodySize is framing corruption, and SegmentReader never reads or
// allocates beyond the remaining file size.
//
// Writer appends encoded records to an io.Writer; after a failed write it
// refuses further appends, since a partial record followed by valid records
// would read as corruption.
//
// VerifySegment reads a whole segment and summarises it (records, batches,
// Kafka record counts, offsets, versions, torn tail) for `chronik-server
// debug wal-verify`.
package walcodec
