package raftstore

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
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
	w, err := wal.Open(dir,
		wal.WithSegmentSize(segmentSize),
		wal.WithMetaStore(meta),
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
