package walcodec

import (
	"fmt"
	"io"
)

// keepBuf is the largest encode buffer a Writer keeps between appends.
const keepBuf = 4 << 20

// Writer encodes records onto an io.Writer, one Write call per record. It
// buffers nothing across calls and never syncs: durability is the caller's.
// A Writer is not safe for concurrent use.
type Writer struct {
	w       io.Writer
	buf     []byte
	written int64
	err     error // sticky write error
}

// NewWriter returns a Writer appending to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Append encodes r (setting each canonical record's BatchPos) and writes it.
// It returns the bytes written. An invalid record is rejected before anything
// is written and leaves the Writer usable; a failed or short write may leave a
// partial record behind, so the Writer then refuses every later Append with
// the same error (the caller must truncate the file at the offset it started).
func (w *Writer) Append(r *Record) (n int, err error) {
	if w.err != nil {
		return 0, w.err
	}
	buf, err := AppendRecord(w.buf[:0], r)
	if err != nil {
		return 0, fmt.Errorf("walcodec: encode record at writer offset %d: %w", w.written, err)
	}
	n, err = w.w.Write(buf)
	if err == nil && n != len(buf) {
		err = io.ErrShortWrite
	}
	if cap(buf) <= keepBuf {
		w.buf = buf[:0]
	} else {
		w.buf = nil
	}
	start := w.written
	w.written += int64(n)
	if err != nil {
		w.err = fmt.Errorf("walcodec: write record at writer offset %d (%d of %d bytes written): %w", start, n, len(buf), err)
		return n, w.err
	}
	return n, nil
}

// Written is the number of bytes written through w so far.
func (w *Writer) Written() int64 { return w.written }
