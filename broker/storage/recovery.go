package storage

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/chronik-stream/chronik/walcodec"
)

// recover loads the log's segments (see the package documentation). It runs
// in OpenLog before the writer starts, so it takes no locks.
func (l *Log) recover() error {
	des, err := os.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("storage: open %s: %w", l.name, err)
	}
	for _, de := range des {
		p, seq, ok := walcodec.ParseSegmentName(de.Name())
		if !ok || !de.Type().IsRegular() {
			continue
		}
		path := filepath.Join(l.dir, de.Name())
		if p != l.partition {
			l.logger.Warn("ignoring segment of another partition", "topic", l.topic, "partition", l.partition, "path", path)
			continue
		}
		l.segs = append(l.segs, &segment{seq: seq, path: path})
	}
	slices.SortFunc(l.segs, func(a, b *segment) int { return cmp.Compare(a.seq, b.seq) })

	next, first := int64(0), int64(-1)
	for i, s := range l.segs {
		last := i == len(l.segs)-1
		flag := os.O_RDONLY
		if last {
			flag = os.O_RDWR
		}
		if s.f, err = os.OpenFile(s.path, flag, 0); err != nil {
			return fmt.Errorf("storage: open %s: %w", l.name, err)
		}
		if err := l.recoverSegment(s, last, &next); err != nil {
			return err
		}
		if first < 0 && len(s.entries) > 0 {
			first = s.entries[0].base
		}
	}
	if len(l.segs) == 0 {
		path := filepath.Join(l.dir, walcodec.SegmentName(l.partition, 1))
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
		if err != nil {
			return fmt.Errorf("storage: open %s: create first segment: %w", l.name, err)
		}
		l.segs = append(l.segs, &segment{seq: 1, path: path, f: f})
		if err := SyncDir(l.dir); err != nil {
			return fmt.Errorf("storage: open %s: %w", l.name, err)
		}
	}
	l.active = l.segs[len(l.segs)-1]

	ckpt, _, err := readCheckpoint(l.dir)
	if err != nil {
		return fmt.Errorf("storage: open %s: %w", l.name, err)
	}
	// The checkpoint keeps the next offset when every batch has been deleted.
	next = max(next, ckpt)
	start := next
	if first >= 0 {
		start = first
	}
	start = min(max(start, ckpt), next)
	l.nextOffset = next
	l.hwm.Store(next)
	l.logStart.Store(start)
	return nil
}

// recoverSegment indexes one segment. A torn tail of the last segment is
// truncated; anything else unreadable is an error naming path and offset.
func (l *Log) recoverSegment(s *segment, last bool, next *int64) error {
	st, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("storage: open %s: %w", l.name, err)
	}
	size := st.Size()
	sr := walcodec.NewSegmentReader(s.path, s.f, size, walcodec.ReadAny)
	for {
		rec, pos, err := sr.Next()
		if errors.Is(err, io.EOF) {
			s.size = size
			return nil
		}
		if err != nil {
			var torn *walcodec.TornTailError
			var corrupt *walcodec.CorruptError
			switch {
			case last && errors.As(err, &torn):
				return l.truncateTail(s, pos, size)
			case last && errors.As(err, &corrupt):
				zero, zerr := zeroTail(s.f, pos, size)
				if zerr != nil {
					return fmt.Errorf("storage: open %s: %s: %w", l.name, s.path, zerr)
				}
				if zero { // the file grew but the data never reached it
					return l.truncateTail(s, pos, size)
				}
			case errors.As(err, &torn):
				return fmt.Errorf("storage: open %s: segment %s is not the last but ends in a torn record at offset %d: %w", l.name, s.path, pos, err)
			}
			return fmt.Errorf("storage: open %s: %w", l.name, err)
		}
		if err := l.indexRecord(s, &rec, pos, next); err != nil {
			return err
		}
	}
}

// indexRecord adds a recovered record's batches to the segment index and
// replays their producer state.
func (l *Log) indexRecord(s *segment, rec *walcodec.Record, pos int64, next *int64) error {
	if s.created == 0 {
		s.created = max(rec.Timestamp, 1)
	}
	s.version = rec.Version
	if rec.Raft != nil && rec.Raft.Index > l.lastRaft.Load() {
		l.lastRaft.Store(rec.Raft.Index)
	}
	tsMax := s.maxTimestamp()
	for i := range rec.Canonical {
		c := &rec.Canonical[i]
		if c.LastOffsetDelta < 0 || c.BaseOffset < *next {
			return fmt.Errorf("storage: open %s: segment %s: record at offset %d: batch offsets %d..%d do not follow offset %d",
				l.name, s.path, pos, c.BaseOffset, c.LastOffset(), *next-1)
		}
		tsMax = max(tsMax, c.MaxTimestamp)
		s.entries = append(s.entries, entry{
			base:      c.BaseOffset,
			pos:       pos + int64(c.BatchPos),
			tsMax:     tsMax,
			lastDelta: c.LastOffsetDelta,
			size:      int32(len(c.Batch)),
		})
		*next = c.LastOffset() + 1
		if c.ProducerID >= 0 && c.BaseSequence >= 0 {
			l.producers.update(c.ProducerID, c.ProducerEpoch, seqBatch{
				firstSeq: c.BaseSequence,
				lastSeq:  lastSequence(c.BaseSequence, c.LastOffsetDelta),
				base:     c.BaseOffset,
				last:     c.LastOffset(),
			})
		}
	}
	return nil
}

// truncateTail cuts the last segment at pos, dropping a torn final record.
func (l *Log) truncateTail(s *segment, pos, size int64) error {
	if err := s.f.Truncate(pos); err != nil {
		return fmt.Errorf("storage: open %s: truncate %s at offset %d: %w", l.name, s.path, pos, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("storage: open %s: fsync %s: %w", l.name, s.path, err)
	}
	l.logger.Warn("truncated torn tail", "topic", l.topic, "partition", l.partition,
		"path", s.path, "offset", pos, "bytes_dropped", size-pos)
	s.size = pos
	return nil
}

// zeroTail reports whether bytes [pos, size) of f are all zero.
func zeroTail(f *os.File, pos, size int64) (bool, error) {
	buf := make([]byte, min(size-pos, 64<<10))
	for pos < size {
		n := int(min(int64(len(buf)), size-pos))
		if _, err := f.ReadAt(buf[:n], pos); err != nil {
			return false, err
		}
		for _, c := range buf[:n] {
			if c != 0 {
				return false, nil
			}
		}
		pos += int64(n)
	}
	return true, nil
}
