// Package storage keeps Chronik's partition logs: Kafka RecordBatches stored
// byte-for-byte in walcodec segments, with an in-memory offset index, group
// commit, crash recovery, retention and idempotent-producer deduplication.
//
// # Layout
//
// A log lives in one directory: segments named walcodec.SegmentName(partition,
// seq) ("wal_<partition>_<seq 8 digits>.log", seq from 00000001), each holding
// walcodec records back to back with no file header, plus an optional
// "log-start-offset" checkpoint (a decimal number, replaced atomically) that
// DeleteRecords and retention advance. The Manager places partition logs at
// <root>/<topic>/<partition>/; the metadata log is opened with OpenLog in
// <root>/__meta with partition 0.
//
// # Writes
//
// Append validates every Kafka RecordBatch of a Produce partition payload
// (magic 2, batch length, CRC-32C, record count), checks idempotent-producer
// sequences and assigns offsets in arrival order. One writer goroutine per
// log then does group commit: everything queued while the previous write and
// fsync ran is encoded into walcodec records (one record per run of appends
// sharing the same Raft metadata and WAL timestamp), written with ONE write
// and made durable with ONE fsync. Only then do the high watermark and the
// index advance, Changed() fire and waiting appenders return. The stored batch
// is the producer's bytes with only bytes 0..7 (base offset) rewritten; the
// producer's CRC stays valid because it does not cover them. The queue is
// bounded (64 MiB per log): Append blocks, honouring its context, while it is
// full. Once queued an append completes (durable or failed) before Append
// returns; AppendOptions.NoWait (acks=0) returns as soon as offsets are
// assigned, and the data becomes durable with the next group commit. A failed
// write or fsync fails the log permanently (kerr.KafkaStorageError); reopening
// it runs recovery.
//
// # Reads
//
// The index holds, per segment, one entry per durable batch (offsets, file
// position, size, running max timestamp). Read finds the batch holding an
// offset by binary search and serves whole batches from ONE segment with ONE
// pread of the contiguous span covering them, compacting the walcodec framing
// out of the result. Nothing above the high watermark (not yet fsynced) is
// ever visible. KIP-74: at least one whole batch is returned even when it
// exceeds maxBytes.
//
// # Recovery
//
// OpenLog reads every segment in sequence order with walcodec.SegmentReader
// (V2 and V3), verifying every checksum. A torn final record in the last
// segment (or an all-zero tail, as left by a crash after the file grew) is
// truncated and logged at WARN ("truncated torn tail"); any other damage fails
// OpenLog with an error naming the segment path and byte offset. Recovery
// rebuilds the index, next offset, high watermark (everything on disk is
// durable), producer state (last five batches per producer id, so retries are
// deduplicated across restarts) and the highest Raft index.
//
// # Retention
//
// EnforceRetention deletes whole closed segments, oldest first, past
// RetentionMs (by the segment's max batch timestamp, or file mtime when it has
// none) or while the log exceeds RetentionBytes, and segments wholly below the
// log start offset; never the active segment. RollIfOld rolls an active
// segment older than SegmentMs; size rolls happen on write. Manager.Run does
// both periodically for every log.
//
// # Format upgrades
//
// LogConfig.Format is the version of records written; a format change rolls
// the active segment first, so no segment mixes formats. Log.UpgradeFormat
// raises it for good (SetConfig cannot lower it again) and seals a V2 active
// segment. Log.ReplaceSegment swaps a sealed segment for a converted copy
// holding the same batches (the live WAL migration's V3 form): the new file is
// indexed, renamed over the old one and swapped with its index under the
// index lock, so readers see one or the other, and a Read or Scan that meets
// the old file closed under it looks its offset up again. Manager.PinFormat
// writes FormatPinFile in the root: every log the Manager opens then writes at
// least that format, also after a restart with a lower configured format (the
// metadata log, opened by broker/meta, honours the pin too).
package storage
