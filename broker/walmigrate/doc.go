// Package walmigrate converts WAL segments from the V2 record format (Chronik
// v1.x) to V3 (v2.x): every V2 record becomes a V3 record with raft_meta None
// and the same type, timestamp and canonical records, so every Kafka
// RecordBatch stays byte-identical and a log recovered from the converted
// segments has the same offsets, high watermark, timestamps and idempotent
// producer state. V3 records are kept as they are.
//
// Three ways to run it:
//
//   - Migrate (`chronik-server migrate-wal`): offline, from an input WAL
//     directory to a new output directory with the same layout, N parallel
//     workers, progress lines, and a resume marker so a rerun after a kill
//     finishes the job. The input is only read.
//   - MigrateInPlace (`start` with wal_format = 3, `cluster --migrate-wal`):
//     converts the V2 segments of a WAL directory in place, one at a time.
//     MigrateOnStart runs it only when the configured format is V3 and a V2
//     segment exists; with wal_format = 2 nothing is converted (the rollback
//     guard: v1.x can still read the data).
//   - ConvertSegment: one sealed segment of a running broker, for the live
//     migration (broker/node, console RPC StartWalMigration), which swaps the
//     result in with storage.Log.ReplaceSegment and pins the WAL directory to
//     V3 (storage.FormatPinFile): later starts keep writing V3 even with
//     wal_format = 2, and MigrateOnStart logs that decision.
//
// Safety: every input record's CRC-32C is checked while reading; every output
// segment is verified from the exact bytes handed to write(2) (each record
// decoded again with its checksum, every Kafka batch CRC and offset, and the
// same record and batch counts as the input), written to a temporary file
// next to its destination, fsynced and its size checked before it is renamed
// into place and the directory fsynced. A crash leaves either the old or the
// new segment, never a mix; stale temporary files are removed by the next
// run.
//
// Damage: a torn final record in the last segment of a partition (what a
// crash mid-write leaves, and what the broker truncates on open) is dropped
// and reported as a warning. Any other damage — a checksum mismatch, broken
// framing, a torn record in an earlier segment — stops the migration with a
// *DamageError ("InvalidChecksum at offset N in PATH"); with
// Options.SkipErrors (offline only) the good prefix of the segment is kept,
// the rest dropped, and the damage counted and listed.
package walmigrate
