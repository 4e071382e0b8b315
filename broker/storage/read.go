package storage

import (
	"errors"
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-stream/chronik/walcodec"
)

// scanChunk bounds the span Scan reads at once (at least one batch).
const scanChunk = 1 << 20

// ReadResult is what Read returns.
type ReadResult struct {
	Records        []byte // whole stored batches, back to back, as the producer sent them (base offset rewritten)
	HighWatermark  int64
	LogStartOffset int64
}

// Read returns the batches starting with the one holding offset, up to
// maxBytes, but always at least one whole batch when offset < HWM (KIP-74).
// Batches come from one segment (a consumer's next fetch continues in the
// next one). offset == HWM gives empty Records; offset < LogStartOffset or >
// HWM an error wrapping kerr.OffsetOutOfRange. The lookup is a binary search
// and the bytes are read with one pread of the span they occupy.
//
// A read that meets a segment file closed under it (swapped by ReplaceSegment,
// or the log cut by SetHighWatermark) looks the offset up again, up to
// readAttempts times.
func (l *Log) Read(offset int64, maxBytes int) (ReadResult, error) {
	for attempt := 1; ; attempt++ {
		res, retry, err := l.readOnce(offset, maxBytes, attempt < readAttempts)
		if !retry {
			return res, err
		}
	}
}

// readAttempts bounds the lookups of one Read or Scan position whose segment
// file was closed under it.
const readAttempts = 4

// readOnce is one attempt of Read; retry reports that the segment file was
// closed during the pread and mayRetry allowed another attempt.
func (l *Log) readOnce(offset int64, maxBytes int, mayRetry bool) (_ ReadResult, retry bool, _ error) {
	l.mu.RLock()
	if l.shut {
		l.mu.RUnlock()
		return ReadResult{}, false, fmt.Errorf("storage: read %s: %w", l.name, ErrClosed)
	}
	res := ReadResult{HighWatermark: l.hwm.Load(), LogStartOffset: l.logStart.Load()}
	if offset < res.LogStartOffset || offset > res.HighWatermark {
		l.mu.RUnlock()
		return res, false, fmt.Errorf("storage: read %s at offset %d: log holds %d..%d: %w",
			l.name, offset, res.LogStartOffset, res.HighWatermark, kerr.OffsetOutOfRange)
	}
	if offset == res.HighWatermark {
		l.mu.RUnlock()
		return res, false, nil
	}
	seg, i := l.locateLocked(offset)
	if seg == nil {
		l.mu.RUnlock()
		return res, false, fmt.Errorf("storage: read %s at offset %d: no batch holds it below the high watermark %d: %w",
			l.name, offset, res.HighWatermark, kerr.OffsetOutOfRange)
	}
	entries, f, path := seg.entries[i:], seg.f, seg.path // a consistent pair: ReplaceSegment swaps both under the write lock
	l.mu.RUnlock()

	total, n := int(entries[0].size), 1
	for n < len(entries) && total+int(entries[n].size) <= maxBytes {
		total += int(entries[n].size)
		n++
	}
	entries = entries[:n]
	from := entries[0].pos
	buf := make([]byte, entries[n-1].pos+int64(entries[n-1].size)-from)
	if l.readHook != nil {
		l.readHook()
	}
	if _, err := f.ReadAt(buf, from); err != nil {
		if mayRetry && errors.Is(err, os.ErrClosed) {
			return res, true, nil
		}
		return res, false, l.readError(offset, path, from, err)
	}
	// Squeeze out the walcodec framing between the batches.
	w := 0
	for _, e := range entries {
		p := int(e.pos - from)
		w += copy(buf[w:], buf[p:p+int(e.size)])
	}
	res.Records = buf[:w]
	return res, false, nil
}

// readError explains a failed pread: a segment deleted by retention meanwhile
// means the offset fell below the log start.
func (l *Log) readError(offset int64, path string, pos int64, err error) error {
	if errors.Is(err, os.ErrClosed) {
		if start := l.logStart.Load(); offset < start {
			return fmt.Errorf("storage: read %s at offset %d: deleted, log now starts at %d: %w", l.name, offset, start, kerr.OffsetOutOfRange)
		}
		return fmt.Errorf("storage: read %s at offset %d: %w", l.name, offset, ErrClosed)
	}
	return fmt.Errorf("storage: read %s at offset %d: %s at byte %d: %w: %w", l.name, offset, path, pos, err, kerr.KafkaStorageError)
}

// locateLocked finds the segment and entry index of the batch holding offset
// (or the first batch after it).
func (l *Log) locateLocked(offset int64) (*segment, int) {
	// Non-empty segments hold increasing offsets; an empty one (only ever
	// the freshly rolled active segment) answers true, which keeps the
	// search at or before the wanted segment.
	lo, hi := 0, len(l.segs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s := l.segs[m]; len(s.entries) == 0 || s.entries[len(s.entries)-1].last() >= offset {
			hi = m
		} else {
			lo = m + 1
		}
	}
	for k := lo; k < len(l.segs); k++ {
		if s := l.segs[k]; len(s.entries) > 0 {
			if i := s.find(offset); i < len(s.entries) {
				return s, i
			}
		}
	}
	return nil, 0
}

// segView is a segment's file and a stable slice of its entries.
type segView struct {
	f       *os.File
	path    string
	entries []entry
}

// Scan calls fn for each stored durable batch from offset from (the batch
// holding it first), in order. c.Batch is not reused and may be retained.
// Like Read, a scan whose segment file is closed under it (ReplaceSegment)
// carries on from the batch it was reading.
func (l *Log) Scan(from int64, fn func(c walcodec.CanonicalRecord) error) error {
	resumed, attempts := false, 1
	for {
		next, retry, err := l.scanOnce(from, resumed, attempts < readAttempts, fn)
		if !retry {
			return err
		}
		if next > from || !resumed {
			attempts = 1
		}
		attempts++
		from, resumed = next, true
	}
}

// scanOnce is one attempt of Scan. A resumed scan must not skip batches: if
// from fell below the log start meanwhile, it fails as Read would. retry
// reports a segment file closed under a pread (with mayRetry); next is then
// the base offset of the first batch fn has not seen.
func (l *Log) scanOnce(from int64, resumed, mayRetry bool, fn func(c walcodec.CanonicalRecord) error) (next int64, retry bool, _ error) {
	l.mu.RLock()
	if l.shut {
		l.mu.RUnlock()
		return 0, false, fmt.Errorf("storage: scan %s: %w", l.name, ErrClosed)
	}
	if start := l.logStart.Load(); resumed && from < start {
		l.mu.RUnlock()
		return 0, false, fmt.Errorf("storage: scan %s at offset %d: deleted, log now starts at %d: %w", l.name, from, start, kerr.OffsetOutOfRange)
	}
	from = max(from, l.logStart.Load())
	var views []segView
	for _, s := range l.segs {
		if i := s.find(from); i < len(s.entries) {
			views = append(views, segView{f: s.f, path: s.path, entries: s.entries[i:]})
		}
	}
	l.mu.RUnlock()

	for _, v := range views {
		for i := 0; i < len(v.entries); {
			start := v.entries[i].pos
			j := i + 1
			for j < len(v.entries) && v.entries[j].pos+int64(v.entries[j].size)-start <= scanChunk {
				j++
			}
			buf := make([]byte, v.entries[j-1].pos+int64(v.entries[j-1].size)-start)
			if l.readHook != nil {
				l.readHook()
			}
			if _, err := v.f.ReadAt(buf, start); err != nil {
				if mayRetry && errors.Is(err, os.ErrClosed) {
					return v.entries[i].base, true, nil
				}
				return 0, false, l.readError(v.entries[i].base, v.path, start, err)
			}
			for _, e := range v.entries[i:j] {
				p := int(e.pos - start)
				b := buf[p : p+int(e.size) : p+int(e.size)]
				h, err := parseBatchHeader(b)
				if err != nil {
					return 0, false, fmt.Errorf("storage: scan %s: %s: batch at byte %d: %w", l.name, v.path, e.pos, err)
				}
				c := walcodec.CanonicalRecord{
					BaseOffset:      e.base,
					LastOffsetDelta: e.lastDelta,
					MaxTimestamp:    h.MaxTimestamp,
					ProducerID:      h.ProducerID,
					ProducerEpoch:   h.ProducerEpoch,
					BaseSequence:    h.BaseSequence,
					Batch:           b,
				}
				if err := fn(c); err != nil {
					return 0, false, err
				}
			}
			i = j
		}
	}
	return 0, false, nil
}

// OffsetForTimestamp finds the first batch whose max timestamp is >= ts and
// returns its base offset (at least the log start) and max timestamp.
func (l *Log) OffsetForTimestamp(ts int64) (offset int64, timestamp int64, found bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	start := l.logStart.Load()
	for _, s := range l.segs {
		if s.maxTimestamp() < ts {
			continue
		}
		i := max(s.findTimestamp(ts), s.find(start))
		if i >= len(s.entries) {
			continue
		}
		e := &s.entries[i]
		return max(e.base, start), e.tsMax, true
	}
	return -1, -1, false
}

// MaxTimestamp returns the largest batch timestamp and the last offset of the
// first batch carrying it (Kafka's batch-level answer to ListOffsets -3);
// (-1, -1) for an empty log.
func (l *Log) MaxTimestamp() (offset int64, timestamp int64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	start := l.logStart.Load()
	var best *segment
	for _, s := range l.segs {
		if len(s.entries) > 0 && s.entries[len(s.entries)-1].last() >= start &&
			(best == nil || s.maxTimestamp() > best.maxTimestamp()) {
			best = s
		}
	}
	if best == nil {
		return -1, -1
	}
	i := max(best.findTimestamp(best.maxTimestamp()), best.find(start))
	e := &best.entries[i]
	return max(e.last(), start), e.tsMax
}
