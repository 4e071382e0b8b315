package walmigrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/chronik-stream/chronik/walcodec"
)

// EffectiveFormat is the format a node starting on walDir writes: the configured one, raised to
// the format a live migration pinned (storage.FormatPinFile). Once a log holds V3 records v1.x
// cannot read the directory any more, so V2 records would only mix formats; a raise is logged
// at INFO ("wal_format = 2 overridden"). Deleting the pin gives wal_format its say back.
func EffectiveFormat(walDir string, format uint8, logger *slog.Logger) (uint8, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	pin, err := storage.ReadFormatPin(walDir)
	if err != nil {
		return format, fmt.Errorf("wal migration: %w", err)
	}
	if pin <= format {
		return format, nil
	}
	logger.Info(fmt.Sprintf("wal_format = %d overridden: this WAL directory was migrated to V%d while running; new records stay V%d "+
		"(V%d records would only mix formats in a directory v1.x cannot read any more)", format, pin, pin, format),
		"pin", filepath.Join(walDir, storage.FormatPinFile), "wal_format", format, "writing_format", pin)
	return pin, nil
}

// MigrateOnStart is the broker's start-up step, after EffectiveFormat: with format V3 it
// converts the V2 segments under walDir in place (MigrateInPlace) — also those an interrupted
// live migration left; with format V2 it converts nothing, so that v1.x can still read the data
// and new records keep being written as V2. A missing walDir or one without V2 segments is left
// alone without a log line.
func MigrateOnStart(ctx context.Context, walDir string, format uint8, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if format != walcodec.V3 {
		return nil
	}
	if _, err := os.Stat(walDir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	t, err := scanRoot(walDir, false)
	if err != nil {
		return fmt.Errorf("wal migration: %w", err)
	}
	for _, s := range t.Segments {
		if s.needsConversion() {
			_, err := MigrateInPlace(ctx, walDir, logger)
			return err
		}
	}
	return nil
}

// MigrateInPlace converts every V2 segment under walDir (recursively: the
// metadata log in __meta first, then each partition) to V3 in place and logs
// the migration guide's lines at INFO through logger:
//
//	WAL migration started
//	Found 1234 V2 WAL segments
//	Converting segment 0/1234: data/wal/__meta/wal_0_00000001.log
//	Converted 10000 records (V2 → V3)
//	WAL migration complete (took 12.3s)
//
// Each segment is converted into a temporary file next to it, fsynced and
// verified, renamed over the original, and the directory fsynced; segments
// already in V3 are skipped, so a rerun after a crash converts the rest.
// A torn tail of a partition's last segment is dropped with a warning (the
// broker would truncate it on open); other damage fails with a *DamageError
// naming the segment and byte offset, leaving that segment untouched.
// Cancelling ctx stops between segments. It must run while no log of walDir
// is open.
func MigrateInPlace(ctx context.Context, walDir string, logger *slog.Logger) (Stats, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	began := time.Now()
	var stats Stats
	logger.Info("WAL migration started", "wal_dir", walDir)
	fail := func(err error) (Stats, error) {
		stats.Duration = time.Since(began)
		logger.Error("WAL migration failed", "err", err)
		return stats, fmt.Errorf("wal migration: %w", err)
	}
	if err := removeTemps(walDir); err != nil {
		return fail(err)
	}
	t, err := scanRoot(walDir, false)
	if err != nil {
		return fail(err)
	}
	var todo []segmentFile
	for _, s := range t.Segments {
		if s.needsConversion() {
			todo = append(todo, s)
		}
	}
	stats.V2Segments = len(todo)
	logger.Info(fmt.Sprintf("Found %d V2 WAL segments", len(todo)), "wal_dir", walDir)
	for i, s := range todo {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		logger.Info(fmt.Sprintf("Converting segment %d/%d: %s", i, len(todo), s.Path), "bytes", s.Size)
		tmp := s.Path + tmpSuffix
		res, err := convertSegment(ctx, s, tmp, false)
		if err != nil {
			return fail(err)
		}
		if err := os.Rename(tmp, s.Path); err != nil {
			_ = os.Remove(tmp)
			return fail(err)
		}
		if err := storage.SyncDir(filepath.Dir(s.Path)); err != nil {
			return fail(err)
		}
		if res.Torn != nil {
			d := damageOf(s, res, fmt.Sprintf("torn tail at offset %d", res.Torn.Offset))
			stats.TornTails = append(stats.TornTails, *d)
			logger.Warn("truncated torn tail", "path", s.Path, "offset", d.Offset, "bytes_dropped", d.LostBytes)
		}
		stats.Segments++
		stats.Records += res.Converted
		stats.Batches += res.Batches
		stats.BytesIn += s.Size
		stats.BytesOut += res.OutBytes
	}
	logger.Info(fmt.Sprintf("Converted %d records (V2 → V3)", stats.Records),
		"segments", stats.Segments, "batches", stats.Batches, "bytes_in", stats.BytesIn, "bytes_out", stats.BytesOut)
	stats.Duration = time.Since(began)
	logger.Info(fmt.Sprintf("WAL migration complete (took %.1fs)", stats.Duration.Seconds()))
	return stats, nil
}
