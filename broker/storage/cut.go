package storage

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// Cut is a consistent point-in-time view of the durable bytes of several
// logs, taken by Manager.CaptureCut for online backups.
//
// Consistency: CaptureCut read-locks the index side (mu) of every log it
// covers at the same time, in directory order, and only then reads each
// log's high watermark, log start offset and segment sizes. A log publishes
// new data (size, index, high watermark) only under its write lock, so while
// all the read locks are held no log can move: the cut is the state of all
// of them at one instant, e.g. no committed group offset in the metadata log
// can point beyond a partition's captured high watermark. Appends are only
// held back for that instant; they carry on while the cut is read.
//
// Each captured segment is opened anew during the capture, so a segment that
// retention, DeleteRecords or DeleteTopic removes afterwards stays readable
// through the cut until Close. Bytes appended after the cut lie beyond the
// captured sizes and are not part of it. SetHighWatermark truncates a segment
// in place: a cut taken before it may then read short, which Reader reports
// as io.ErrUnexpectedEOF.
type Cut struct {
	Logs []CutLog
}

// CutLog is one log in a cut.
type CutLog struct {
	Topic          string
	Partition      int32
	Dir            string
	HighWatermark  int64
	LogStartOffset int64
	// HasCheckpoint says the log keeps a log-start-offset checkpoint file;
	// a copy of the log should hold one with LogStartOffset in it.
	HasCheckpoint bool
	Segments      []CutSegment // in sequence order
}

// CutSegment is one segment file as of the cut.
type CutSegment struct {
	Path string
	Size int64 // durable bytes at the cut
	f    *os.File
}

// Reader reads the segment's first Size bytes as of the cut. A read that
// finds the file shorter than Size fails with io.ErrUnexpectedEOF.
func (s CutSegment) Reader() io.ReaderAt { return cutReader{s} }

type cutReader struct{ s CutSegment }

func (r cutReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.s.Size {
		return 0, io.EOF
	}
	short := false
	if rest := r.s.Size - off; int64(len(p)) > rest {
		p, short = p[:rest], true
	}
	n, err := r.s.f.ReadAt(p, off)
	if n < len(p) {
		if err == nil || errors.Is(err, io.EOF) {
			err = fmt.Errorf("storage: segment %s is shorter than its %d bytes at the cut (truncated since?): %w", r.s.Path, r.s.Size, io.ErrUnexpectedEOF)
		}
		return n, err
	}
	if short {
		return n, io.EOF
	}
	return n, nil
}

// Close releases the cut's files.
func (c *Cut) Close() error {
	var errs []error
	for _, l := range c.Logs {
		for _, s := range l.Segments {
			if s.f != nil {
				if err := s.f.Close(); err != nil {
					errs = append(errs, fmt.Errorf("storage: close cut of %s: %w", s.Path, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// CaptureCut captures every open log of the Manager plus extra logs (the
// metadata log, which the Manager does not own) at one instant; see Cut.
// Closed logs are left out. The caller must Close the cut.
func (m *Manager) CaptureCut(extra ...*Log) (*Cut, error) {
	var logs []*Log
	for _, pl := range m.Logs() {
		logs = append(logs, pl.Log)
	}
	for _, l := range extra {
		if l != nil && !slices.Contains(logs, l) {
			logs = append(logs, l)
		}
	}
	slices.SortFunc(logs, func(a, b *Log) int { return cmp.Compare(a.dir, b.dir) })
	for _, l := range logs {
		l.mu.RLock()
	}
	cut, err := captureLocked(logs)
	for _, l := range logs {
		l.mu.RUnlock()
	}
	if err != nil {
		_ = cut.Close()
		return nil, err
	}
	return cut, nil
}

// captureLocked reads the logs' state; the caller read-locks all of them.
func captureLocked(logs []*Log) (*Cut, error) {
	cut := &Cut{Logs: make([]CutLog, 0, len(logs))}
	for _, l := range logs {
		if l.shut {
			continue
		}
		cl := CutLog{
			Topic:          l.topic,
			Partition:      l.partition,
			Dir:            l.dir,
			HighWatermark:  l.hwm.Load(),
			LogStartOffset: l.logStart.Load(),
		}
		if _, ok, err := readCheckpoint(l.dir); err != nil {
			return cut, fmt.Errorf("storage: capture %s: %w", l.name, err)
		} else if ok || cl.LogStartOffset > 0 {
			cl.HasCheckpoint = true
		}
		for _, s := range l.segs {
			f, err := os.Open(s.path)
			if err != nil {
				cut.Logs = append(cut.Logs, cl)
				return cut, fmt.Errorf("storage: capture %s: %w", l.name, err)
			}
			cl.Segments = append(cl.Segments, CutSegment{Path: s.path, Size: s.size, f: f})
		}
		cut.Logs = append(cut.Logs, cl)
	}
	return cut, nil
}
