package raftstore

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
)

// LogStore is a raft-wal WAL: the group's raft.LogStore, raft.StableStore and
// raft.MonotonicLogStore at once (pass it twice to raft.NewRaft). Close it after raft.Shutdown.
type LogStore struct {
	*wal.WAL
	dir  string
	meta *metadb.BoltMetaDB
}

// Close closes the WAL and its metadata database. (wal.WAL.Close alone leaves the BoltDB file
// open and locked, so reopening the directory in the same process would block forever.)
func (s *LogStore) Close() error {
	err := s.WAL.Close()
	if merr := s.meta.Close(); merr != nil && err == nil {
		err = merr
	}
	if err != nil {
		return fmt.Errorf("closing raft log %s: %w", s.dir, err)
	}
	return nil
}

// OpenLogStore opens (creating dir if needed) a raft-wal WAL in dir. segmentSize ≤ 0 means
// DefaultSegmentSize (8 MiB); tests use 512 KiB so that log compaction frees segments and
// followers need InstallSnapshot. A directory already open (in this or another process) is an
// error instead of the indefinite wait BoltDB's file lock would cause.
func OpenLogStore(dir string, segmentSize int, logger *slog.Logger) (*LogStore, error) {
	if segmentSize <= 0 {
		segmentSize = DefaultSegmentSize
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating raft log dir %s: %w", dir, err)
	}
	if err := checkUnlocked(filepath.Join(dir, metadb.FileName)); err != nil {
		return nil, fmt.Errorf("opening raft log %s: %w", dir, err)
	}
	meta := &metadb.BoltMetaDB{}
	if err := completeRotation(dir, segmentSize, meta, logger); err != nil {
		_ = meta.Close()
		return nil, fmt.Errorf("opening raft log %s: %w", dir, err)
	}
	w, err := wal.Open(dir,
		wal.WithSegmentSize(segmentSize),
		wal.WithMetaStore(meta),
		wal.WithSegmentFiler(repairingFiler{SegmentFiler: segment.NewFiler(dir, fs.New())}),
		wal.WithLogger(NewHCLogger(logger, "raft-wal")),
	)
	if err != nil {
		_ = meta.Close()
		return nil, fmt.Errorf("opening raft log %s: %w", dir, err)
	}
	return &LogStore{WAL: w, dir: dir, meta: meta}, nil
}

// DefaultSnapshotRetain is the number of snapshots OpenSnapshotStore keeps.
const DefaultSnapshotRetain = 2

// OpenSnapshotStore opens a raft.FileSnapshotStore in dir (created if needed; raft adds a
// "snapshots" sub-directory) keeping the newest retain snapshots (≤ 0 means
// DefaultSnapshotRetain).
func OpenSnapshotStore(dir string, retain int, logger *slog.Logger) (*raft.FileSnapshotStore, error) {
	if retain <= 0 {
		retain = DefaultSnapshotRetain
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating raft snapshot dir %s: %w", dir, err)
	}
	s, err := raft.NewFileSnapshotStoreWithLogger(dir, retain, NewHCLogger(logger, "raft-snapshots"))
	if err != nil {
		return nil, fmt.Errorf("opening raft snapshot store %s: %w", dir, err)
	}
	return s, nil
}

// repairingFiler works around hashicorp/raft-wal#31 (fixed upstream after v0.4.0, the version
// available here): when raft truncates the log's tail (a follower dropping entries of a deposed
// leader), raft-wal v0.4.0 marks the tail segment sealed without writing its index block, and
// after a restart every read from that segment fails with "sealed segment has no index block"
// (raft.NewRaft then panics). Such a segment is opened the way the unsealed tail is recovered —
// by scanning its frames — and only read from: the WAL never asks it for the truncated entries
// past its MaxIndex, and never appends to it.
type repairingFiler struct {
	types.SegmentFiler
}

func (f repairingFiler) Open(info types.SegmentInfo) (types.SegmentReader, error) {
	if !info.SealTime.IsZero() && info.IndexStart == 0 {
		w, err := f.SegmentFiler.RecoverTail(info)
		if err != nil {
			return nil, fmt.Errorf("reading raft log segment %d (sealed by a tail truncation): %w", info.ID, err)
		}
		return w, nil
	}
	return f.SegmentFiler.Open(info)
}

// completeRotation works around a second raft-wal v0.4.0 crash window: the append that fills a
// segment writes its index block and fsyncs, and the WAL then records the seal and the next
// segment in its metadata asynchronously. A crash in between leaves a tail segment that is
// sealed on disk but not in the metadata; raft-wal recovers it as the tail and every later
// append fails with "segment is sealed". This finishes that rotation in the metadata before
// the WAL opens: the tail is recorded as sealed and an empty next segment is added (its file is
// created by the WAL at open, as after any crash right after a rotation).
func completeRotation(dir string, segmentSize int, meta *metadb.BoltMetaDB, logger *slog.Logger) error {
	st, err := meta.Load(dir)
	if err != nil {
		return err
	}
	if len(st.Segments) == 0 {
		return nil
	}
	tail := st.Segments[len(st.Segments)-1]
	if !tail.SealTime.IsZero() {
		return nil
	}
	sw, err := segment.NewFiler(dir, fs.New()).RecoverTail(tail)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking the tail segment %d: %w", tail.ID, err)
	}
	sealed, indexStart, err := sw.Sealed()
	last := sw.LastIndex()
	if cerr := sw.Close(); err == nil {
		err = cerr
	}
	if err != nil || !sealed {
		return err
	}
	now := time.Now()
	tail.SealTime, tail.IndexStart, tail.MaxIndex = now, indexStart, last
	st.Segments[len(st.Segments)-1] = tail
	st.Segments = append(st.Segments, types.SegmentInfo{
		ID: st.NextSegmentID, BaseIndex: last + 1, MinIndex: last + 1,
		SizeLimit: uint32(segmentSize), Codec: wal.CodecBinaryV1, CreateTime: now,
	})
	st.NextSegmentID++
	if err := meta.CommitState(st); err != nil {
		return fmt.Errorf("recording the seal of segment %d: %w", tail.ID, err)
	}
	if logger != nil {
		logger.Warn("raft log: completed a segment rotation interrupted by a crash", "dir", dir, "segment", tail.ID, "last_index", last)
	}
	return nil
}
