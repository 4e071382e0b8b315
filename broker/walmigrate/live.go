package walmigrate

import (
	"context"
	"errors"
	"fmt"
)

// SegmentStats is what ConvertSegment did.
type SegmentStats struct {
	Records      int64 // WAL records written
	Converted    int64 // of them, V2 records converted to V3
	Batches      int64 // Kafka record batches carried over
	BytesIn      int64
	BytesOut     int64
	FirstVersion uint8 // version of the input's first record
	FirstOffset  int64 // first Kafka offset (-1 if none)
	LastOffset   int64 // last Kafka offset (-1 if none)
}

// TempPath is where the V3 form of segment is written before it replaces the
// segment: next to it, with the suffix every migration removes as a leftover
// of an interrupted run (and that the broker's recovery ignores).
func TempPath(segment string) string { return segment + tmpSuffix }

// RemoveTemps deletes the temporary files interrupted migrations left under
// walDir. Run it only while no migration of walDir is running.
func RemoveTemps(walDir string) error {
	if err := removeTemps(walDir); err != nil {
		return fmt.Errorf("wal migration: %w", err)
	}
	return nil
}

// ConvertSegment writes the V3 form of the sealed segment src to dst (a new
// file; a stale one is replaced) with the checks of every migration: each
// input record's checksum, the output verified from the exact bytes written
// (record checksums, Kafka batch CRC-32C, offsets, counts), fsync and a size
// check. It is for segments that are no longer written — the live migration
// converts a running log's sealed segments — so any damage, a torn record
// included, is a *DamageError (returned as is: it names the path and byte
// offset) and nothing is dropped. On error dst is removed. src is only read;
// replacing it is the caller's job.
func ConvertSegment(ctx context.Context, src, dst string) (SegmentStats, error) {
	res, err := convertSegment(ctx, segmentFile{Path: src, Last: false}, dst, false)
	st := SegmentStats{
		Records: res.Records, Converted: res.Converted, Batches: res.Batches,
		BytesIn: res.KeptBytes, BytesOut: res.OutBytes,
		FirstVersion: res.WasVersion, FirstOffset: res.FirstOff, LastOffset: res.LastOff,
	}
	var damage *DamageError
	switch {
	case errors.As(err, &damage):
		return st, damage
	case err != nil:
		return st, fmt.Errorf("wal migration: converting %s: %w", src, err)
	}
	return st, nil
}
