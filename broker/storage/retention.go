package storage

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// EnforceRetention deletes whole closed segments, oldest first, while they
// are wholly below the log start offset, older than RetentionMs (by their max
// batch timestamp, or file mtime when they have none) or the log is larger
// than RetentionBytes. The active segment is never deleted. The log start
// offset moves to the first remaining batch.
func (l *Log) EnforceRetention(now time.Time) error {
	l.adminMu.Lock()
	defer l.adminMu.Unlock()
	l.mu.RLock()
	if l.shut {
		l.mu.RUnlock()
		return fmt.Errorf("storage: retention of %s: %w", l.name, ErrClosed)
	}
	cfg, segs, start := l.cfg, l.segs, l.logStart.Load()
	var total int64
	for _, s := range segs {
		total += s.size
	}
	type cand struct {
		s       *segment
		empty   bool
		last    int64
		maxTs   int64
		sizeNow int64
	}
	cands := make([]cand, 0, len(segs)-1)
	for _, s := range segs[:len(segs)-1] {
		c := cand{s: s, empty: len(s.entries) == 0, maxTs: s.maxTimestamp(), sizeNow: s.size}
		if !c.empty {
			c.last = s.entries[len(s.entries)-1].last()
		}
		cands = append(cands, c)
	}
	l.mu.RUnlock()

	nowMs := now.UnixMilli()
	k := 0
	for _, c := range cands {
		del := c.empty || c.last < start
		if !del && cfg.RetentionMs >= 0 {
			ts := c.maxTs
			if ts < 0 {
				if st, err := c.s.f.Stat(); err == nil {
					ts = st.ModTime().UnixMilli()
				}
			}
			del = ts >= 0 && nowMs-ts > cfg.RetentionMs
		}
		if !del && cfg.RetentionBytes >= 0 {
			del = total > cfg.RetentionBytes
		}
		if !del {
			break
		}
		total -= c.sizeNow
		k++
	}
	if k == 0 {
		return nil
	}
	return l.dropSegmentsLocked(k)
}

// DeleteRecords makes offsets below before unreadable (-1 = the high
// watermark), persists the new log start offset and deletes the closed
// segments wholly below it. before > HWM gives kerr.OffsetOutOfRange.
func (l *Log) DeleteRecords(before int64) (logStart int64, err error) {
	l.adminMu.Lock()
	defer l.adminMu.Unlock()
	hwm := l.hwm.Load()
	if before == -1 {
		before = hwm
	}
	if before < 0 || before > hwm {
		return l.logStart.Load(), fmt.Errorf("storage: delete records of %s before %d: high watermark is %d: %w", l.name, before, hwm, kerr.OffsetOutOfRange)
	}
	if start := l.logStart.Load(); before <= start {
		return start, nil
	}
	if err := writeCheckpoint(l.dir, before); err != nil {
		return l.logStart.Load(), fmt.Errorf("storage: delete records of %s before %d: %w", l.name, before, err)
	}
	l.mu.Lock()
	if l.shut {
		l.mu.Unlock()
		return l.logStart.Load(), fmt.Errorf("storage: delete records of %s: %w", l.name, ErrClosed)
	}
	l.logStart.Store(before)
	k := 0
	for _, s := range l.segs[:len(l.segs)-1] {
		if len(s.entries) > 0 && s.entries[len(s.entries)-1].last() >= before {
			break
		}
		k++
	}
	l.mu.Unlock()
	if k > 0 {
		if err := l.dropSegmentsLocked(k); err != nil {
			return l.logStart.Load(), err
		}
	}
	return l.logStart.Load(), nil
}

// dropSegmentsLocked deletes the first k segments (never the active one):
// checkpoint the new log start, unlink them from the index, then remove the
// files. The caller holds adminMu.
func (l *Log) dropSegmentsLocked(k int) error {
	l.mu.RLock()
	newStart := l.hwm.Load() // when the remaining segments hold no batch
	for _, s := range l.segs[k:] {
		if len(s.entries) > 0 {
			newStart = s.entries[0].base
			break
		}
	}
	newStart = max(newStart, l.logStart.Load())
	l.mu.RUnlock()
	if newStart > l.logStart.Load() {
		if err := writeCheckpoint(l.dir, newStart); err != nil {
			return fmt.Errorf("storage: retention of %s: %w", l.name, err)
		}
	}

	l.mu.Lock()
	if l.shut {
		l.mu.Unlock()
		return fmt.Errorf("storage: retention of %s: %w", l.name, ErrClosed)
	}
	removed := l.segs[:k]
	l.segs = append([]*segment(nil), l.segs[k:]...) // readers may hold the old slice
	if newStart > l.logStart.Load() {
		l.logStart.Store(newStart)
	}
	l.mu.Unlock()

	var errs []error
	for _, s := range removed {
		if err := s.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("storage: retention of %s: close %s: %w", l.name, s.path, err))
		}
		if err := os.Remove(s.path); err != nil {
			errs = append(errs, fmt.Errorf("storage: retention of %s: remove %s: %w", l.name, s.path, err))
		}
		l.logger.Info("deleted segment", "topic", l.topic, "partition", l.partition, "path", s.path)
	}
	if err := SyncDir(l.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// RollIfOld rolls the active segment when it holds data and is older than
// SegmentMs.
func (l *Log) RollIfOld(now time.Time) error {
	l.mu.RLock()
	a, cfg := l.segs[len(l.segs)-1], l.cfg
	old := a.size > 0 && now.UnixMilli()-a.created >= cfg.SegmentMs
	l.mu.RUnlock()
	if !old {
		return nil
	}
	return l.control(reqRoll)
}
