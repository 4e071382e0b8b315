package meta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/chronik-stream/chronik/walcodec"
)

// metaSegmentBytes rolls metadata segments small enough that compaction can
// drop closed ones soon.
const metaSegmentBytes = 16 << 20

func metaLogConfig(format uint8) storage.LogConfig {
	cfg := storage.DefaultLogConfig()
	cfg.Format = format
	cfg.RecordType = walcodec.RecordMetadata
	cfg.SegmentBytes = metaSegmentBytes
	cfg.RetentionMs = -1 // only compaction removes metadata
	cfg.RetentionBytes = -1
	return cfg
}

// Open opens (creating if needed) the standalone metadata log in dir — the
// metadata directory itself, <data_dir>/wal/__meta — replays it and returns
// a store whose mutations append to it. format is walcodec.V2 or V3; a WAL
// format pin in the WAL root (the parent of dir, storage.FormatPinFile, left
// by a live WAL migration) raises it.
func Open(dir string, format uint8, logger *slog.Logger, m *storage.Metrics) (*Store, error) {
	s := NewStore(logger)
	pin, err := storage.ReadFormatPin(filepath.Dir(dir))
	if err != nil {
		return nil, fmt.Errorf("opening metadata log %s: %w", dir, err)
	}
	if pin > format {
		s.logger.Info("metadata log writes the pinned WAL format, not the configured one", "dir", dir, "configured_format", format, "pinned_format", pin)
		format = pin
	}
	l, err := storage.OpenLog(dir, metaTopicName, 0, metaLogConfig(format), s.logger, m)
	if err != nil {
		return nil, fmt.Errorf("opening metadata log %s: %w", dir, err)
	}
	start, commands := l.LogStartOffset(), 0
	err = l.Scan(start, func(c walcodec.CanonicalRecord) error {
		commands++
		if err := s.Apply(c.Batch); err != nil {
			return fmt.Errorf("metadata log %s offset %d: %w", dir, c.BaseOffset, err)
		}
		return nil
	})
	if err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("replaying metadata log %s: %w", dir, err)
	}
	s.local = &localLog{dir: dir, log: l, store: s}
	s.SetProposer(s.local)
	topics, groups := s.stats()
	s.logger.Info("metadata log replayed", "dir", dir, "commands", commands, "topics", topics, "groups", groups)
	return s, nil
}

// localLog is the standalone Proposer: append (fsync) to the metadata log,
// then apply, one command at a time so that apply order is log order.
type localLog struct {
	mu     sync.Mutex
	dir    string
	log    *storage.Log
	store  *Store
	closed bool
}

func (l *localLog) Propose(ctx context.Context, cmd []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Once started, the append completes even if ctx ends: the log and the
	// in-memory state must not diverge.
	if _, err := l.log.Append(context.WithoutCancel(ctx), cmd, storage.AppendOptions{}); err != nil {
		return fmt.Errorf("appending to metadata log %s: %w", l.dir, err)
	}
	if err := l.store.Apply(cmd); err != nil {
		return fmt.Errorf("metadata log %s: %w", l.dir, err)
	}
	if l.store.dueForCompaction() {
		if err := l.compactLocked(ctx); err != nil {
			l.store.logger.Warn("compacting metadata log failed", "dir", l.dir, "error", err)
		}
	}
	return nil
}

// compactLocked appends a full-state snapshot and drops the log before it.
// Replay is correct whether or not the older records are gone: applying the
// snapshot replaces everything they built.
func (l *localLog) compactLocked(ctx context.Context) error {
	snap, err := l.store.Snapshot()
	if err != nil {
		return err
	}
	res, err := l.log.Append(context.WithoutCancel(ctx), snap, storage.AppendOptions{})
	if err != nil {
		return fmt.Errorf("appending snapshot to metadata log %s: %w", l.dir, err)
	}
	if err := l.store.Apply(snap); err != nil {
		return fmt.Errorf("metadata log %s: %w", l.dir, err)
	}
	if _, err := l.log.DeleteRecords(res.BaseOffset); err != nil {
		return fmt.Errorf("metadata log %s: dropping records before offset %d: %w", l.dir, res.BaseOffset, err)
	}
	if err := l.log.EnforceRetention(l.store.now()); err != nil {
		return fmt.Errorf("metadata log %s: removing compacted segments: %w", l.dir, err)
	}
	l.store.logger.Info("metadata log compacted", "dir", l.dir, "snapshot_offset", res.BaseOffset, "snapshot_bytes", len(snap))
	return nil
}

func (l *localLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if err := l.log.Close(); err != nil {
		return fmt.Errorf("closing metadata log %s: %w", l.dir, err)
	}
	return nil
}

// Compact writes a full-state snapshot command to the standalone log and
// drops the records before it. In cluster mode Raft snapshots do this job.
func (s *Store) Compact(ctx context.Context) error {
	if s.local == nil || s.getProposer() != Proposer(s.local) {
		return errors.New("compacting metadata log: only a standalone store (Open, local proposer) compacts its own log")
	}
	s.local.mu.Lock()
	defer s.local.mu.Unlock()
	if s.local.closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.local.compactLocked(ctx)
}

func (s *Store) dueForCompaction() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.compactEvery > 0 && s.sinceSnapshot >= s.compactEvery
}

// Log is the metadata log a standalone store was opened on (nil for
// NewStore). Cluster wiring may append Raft-committed commands to it (with
// raft_meta) before calling Apply; it must not be closed by others.
func (s *Store) Log() *storage.Log {
	if s.local == nil {
		return nil
	}
	return s.local.log
}
