package storage

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/chronik-stream/chronik/walcodec"
)

// Errors of SetHighWatermark; an *OffsetRangeError wraps one of them.
var (
	// ErrOffsetBeyondLogEnd: the offset is above the log end offset (the high watermark).
	ErrOffsetBeyondLogEnd = errors.New("offset beyond the log end offset")
	// ErrOffsetBelowLogStart: the offset is below the log start offset.
	ErrOffsetBelowLogStart = errors.New("offset below the log start offset")
)

// OffsetRangeError refuses a SetHighWatermark offset outside [log start, log end].
type OffsetRangeError struct {
	Topic     string
	Partition int32
	Offset    int64
	LogStart  int64
	LogEnd    int64 // the high watermark
	Err       error // ErrOffsetBeyondLogEnd or ErrOffsetBelowLogStart
}

func (e *OffsetRangeError) Error() string {
	return fmt.Sprintf("storage: set high watermark of topic %s partition %d to %d: %v (log start offset %d, log end offset %d)",
		e.Topic, e.Partition, e.Offset, e.Err, e.LogStart, e.LogEnd)
}

func (e *OffsetRangeError) Unwrap() error { return e.Err }

// NotBatchBoundaryError refuses a SetHighWatermark offset that falls inside a
// stored Kafka RecordBatch: a log can only be cut between batches. Before and
// After are the nearest offsets where it can be cut.
type NotBatchBoundaryError struct {
	Topic     string
	Partition int32
	Offset    int64
	Before    int64 // nearest batch boundary below Offset
	After     int64 // nearest batch boundary above Offset
}

func (e *NotBatchBoundaryError) Error() string {
	return fmt.Sprintf("storage: set high watermark of topic %s partition %d to %d: offset is inside a record batch; the nearest batch boundaries are %d and %d",
		e.Topic, e.Partition, e.Offset, e.Before, e.After)
}

// SetHighWatermark sets the log's high watermark to offset and returns the
// previous one. In this broker the high watermark is the log end offset, so
// an offset below it truncates the log: every batch at or above offset is
// removed from the segments (the segment holding offset is cut at that batch,
// re-encoding its WAL record when the batch shares one with earlier batches;
// later segments are deleted), then the index, producer state and Raft index
// are rebuilt from the files as at open. offset equal to the high watermark
// changes nothing.
//
// Refused: an offset above the high watermark or below the log start offset
// (*OffsetRangeError) and an offset inside a batch (*NotBatchBoundaryError).
//
// While it runs, appends fail with ErrClosed (producers see a retriable
// KAFKA_STORAGE_ERROR) and reads wait; a read that started before may fail
// once because its segment file was closed. Idempotent producers whose last
// batches were removed will see OUT_OF_ORDER_SEQUENCE_NUMBER until they reset.
// It must not run concurrently with Close (the broker finishes admin requests
// before closing logs). A failure while cutting files leaves the log closed
// for writes (reopen it to recover).
func (l *Log) SetHighWatermark(offset int64) (previous int64, err error) {
	l.adminMu.Lock()
	defer l.adminMu.Unlock()

	l.mu.RLock()
	previous = l.hwm.Load()
	err = l.checkCutLocked(offset)
	shut := l.shut
	l.mu.RUnlock()
	if shut {
		return previous, fmt.Errorf("storage: set high watermark of %s: %w", l.name, ErrClosed)
	}
	if err != nil || offset == previous {
		return previous, err
	}

	if err := l.stopWriter(); err != nil {
		return previous, fmt.Errorf("storage: set high watermark of %s: %w", l.name, err)
	}
	l.qmu.Lock()
	defer l.qmu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()

	// Appends that were queued before the writer stopped are durable now.
	previous = l.hwm.Load()
	if err := l.checkCutLocked(offset); err != nil {
		l.restartWriterLocked()
		return previous, err
	}
	removedSegs, removedBytes, cutErr := l.cutLocked(offset)
	if err := l.reloadLocked(); err != nil {
		l.logger.Error("partition log unusable after truncation; reopen to recover",
			"topic", l.topic, "partition", l.partition, "err", err)
		return previous, errors.Join(cutErr, err)
	}
	l.restartWriterLocked()
	if cutErr != nil {
		return previous, cutErr
	}
	l.logger.Warn("high watermark lowered: log truncated", "topic", l.topic, "partition", l.partition,
		"previous_hwm", previous, "hwm", l.hwm.Load(), "segments_deleted", removedSegs, "bytes_removed", removedBytes)
	return previous, nil
}

// checkCutLocked validates a truncation point. The caller holds mu.
func (l *Log) checkCutLocked(offset int64) error {
	hwm, start := l.hwm.Load(), l.logStart.Load()
	rangeErr := func(err error) error {
		return &OffsetRangeError{Topic: l.topic, Partition: l.partition, Offset: offset, LogStart: start, LogEnd: hwm, Err: err}
	}
	switch {
	case offset > hwm:
		return rangeErr(ErrOffsetBeyondLogEnd)
	case offset < start:
		return rangeErr(ErrOffsetBelowLogStart)
	case offset == hwm:
		return nil
	}
	seg, i := l.locateLocked(offset)
	if seg == nil {
		return fmt.Errorf("storage: set high watermark of %s to %d: no batch holds it below the high watermark %d", l.name, offset, hwm)
	}
	if e := seg.entries[i]; e.base != offset {
		before, after := e.base, e.last()+1
		if e.base > offset { // offset lies in a gap between batches
			before, after = l.prevBoundaryLocked(e.base), e.base
		}
		return &NotBatchBoundaryError{Topic: l.topic, Partition: l.partition, Offset: offset, Before: before, After: after}
	}
	return nil
}

// prevBoundaryLocked is the offset after the last batch ending before base
// (the log start offset if none).
func (l *Log) prevBoundaryLocked(base int64) int64 {
	prev := l.logStart.Load()
	for _, s := range l.segs {
		for _, e := range s.entries {
			if e.last() < base {
				prev = max(prev, e.last()+1)
			}
		}
	}
	return prev
}

// stopWriter stops accepting appends and waits until the writer goroutine
// has written everything queued and exited.
func (l *Log) stopWriter() error {
	l.qmu.Lock()
	switch {
	case l.closed:
		l.qmu.Unlock()
		return ErrClosed
	case l.failed != nil:
		err := l.failed
		l.qmu.Unlock()
		return err
	}
	l.closed = true
	l.qmu.Unlock()
	l.wake()
	<-l.writerDone
	return nil
}

// restartWriterLocked accepts appends again with a new writer goroutine. The
// caller holds qmu and mu.
func (l *Log) restartWriterLocked() {
	l.writerDone = make(chan struct{})
	l.closed = false
	go l.run()
}

// cutLocked removes every batch at or above offset (a batch boundary below
// the high watermark) from the files. The caller holds qmu and mu with the
// writer stopped. The in-memory index is stale afterwards: reloadLocked
// rebuilds it.
func (l *Log) cutLocked(offset int64) (removedSegs int, removedBytes int64, err error) {
	si, ei := -1, 0
	for k, s := range l.segs {
		if i := s.find(offset); i < len(s.entries) {
			si, ei = k, i
			break
		}
	}
	if si < 0 {
		return 0, 0, nil
	}
	seg := l.segs[si]
	keepsBatch := ei > 0
	for _, s := range l.segs[:si] {
		keepsBatch = keepsBatch || len(s.entries) > 0
	}
	if !keepsBatch && offset > 0 {
		// No batch below offset remains: the checkpoint keeps the next offset.
		if err := writeCheckpoint(l.dir, offset); err != nil {
			return 0, 0, fmt.Errorf("storage: set high watermark of %s: %w", l.name, err)
		}
	}
	cutAt, err := l.cutSegment(seg, seg.entries[ei].pos, offset)
	if err != nil {
		return 0, 0, err
	}
	removedBytes = seg.size - cutAt
	for _, s := range l.segs[si+1:] {
		_ = s.f.Close()
		if err := os.Remove(s.path); err != nil {
			return removedSegs, removedBytes, fmt.Errorf("storage: set high watermark of %s: remove %s: %w", l.name, s.path, err)
		}
		removedSegs++
		removedBytes += s.size
	}
	if removedSegs > 0 {
		if err := SyncDir(l.dir); err != nil {
			return removedSegs, removedBytes, fmt.Errorf("storage: set high watermark of %s: %w", l.name, err)
		}
	}
	return removedSegs, removedBytes, nil
}

// cutSegment truncates seg so that it ends before the batch stored at byte
// batchPos (base offset `offset`). When that batch shares its WAL record with
// earlier batches, the record is rewritten holding only those. It returns the
// new size.
func (l *Log) cutSegment(seg *segment, batchPos, offset int64) (int64, error) {
	f, err := os.OpenFile(seg.path, os.O_RDWR, 0)
	if err != nil {
		return 0, fmt.Errorf("storage: set high watermark of %s: %w", l.name, err)
	}
	defer f.Close()
	sr := walcodec.NewSegmentReader(seg.path, f, seg.size, walcodec.ReadAny)
	for {
		rec, pos, err := sr.Next()
		if errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("storage: set high watermark of %s: no WAL record of %s holds the batch at byte %d", l.name, seg.path, batchPos)
		}
		if err != nil {
			return 0, fmt.Errorf("storage: set high watermark of %s: %w", l.name, err)
		}
		if end := pos + int64(walcodec.EncodedSize(&rec)); batchPos >= end {
			continue
		}
		var keep []walcodec.CanonicalRecord
		for _, c := range rec.Canonical {
			if c.BaseOffset < offset {
				keep = append(keep, c)
			}
		}
		var tail []byte
		if len(keep) > 0 {
			rec.Canonical = keep
			if tail, err = walcodec.AppendRecord(nil, &rec); err != nil {
				return 0, fmt.Errorf("storage: set high watermark of %s: re-encode record at offset %d of %s: %w", l.name, pos, seg.path, err)
			}
		}
		if err := f.Truncate(pos); err != nil {
			return 0, fmt.Errorf("storage: set high watermark of %s: truncate %s at offset %d: %w", l.name, seg.path, pos, err)
		}
		if _, err := f.WriteAt(tail, pos); err != nil {
			return 0, fmt.Errorf("storage: set high watermark of %s: write %s at offset %d: %w", l.name, seg.path, pos, err)
		}
		if err := f.Sync(); err != nil {
			return 0, fmt.Errorf("storage: set high watermark of %s: fsync %s: %w", l.name, seg.path, err)
		}
		return pos + int64(len(tail)), nil
	}
}

// reloadLocked closes the segment files and rebuilds the log's state from
// disk as OpenLog does. The caller holds qmu and mu with the writer stopped.
// On failure the log is left shut (reads and appends fail).
func (l *Log) reloadLocked() error {
	for _, s := range l.segs {
		if s.f != nil {
			_ = s.f.Close()
		}
	}
	old := l.segs
	l.segs, l.active = nil, nil
	l.producers = producers{}
	l.lastRaft.Store(0)
	err := l.recover()
	close(l.changed) // wake fetches waiting on the old high watermark
	l.changed = make(chan struct{})
	if err != nil {
		for _, s := range l.segs {
			if s.f != nil {
				_ = s.f.Close()
			}
		}
		if len(l.segs) == 0 {
			l.segs = old // keep a non-empty list for the index-only readers
		}
		l.shut = true
		l.failed = fmt.Errorf("storage: %s: reloading after truncation: %w", l.name, err)
		return l.failed
	}
	return nil
}
