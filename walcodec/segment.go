package walcodec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
)

// Buffer sizes of SegmentReader. Neither depends on a length read from the file.
const (
	// readAhead is how much a reader fetches at once when records are small.
	readAhead = 1 << 20
	// scanChunk is the window used to look for a valid record after a
	// record whose length runs past the end of the file.
	scanChunk = 64 << 10
)

// TornTailError reports an incomplete final record: what a crash in the
// middle of a write leaves. Truncating the segment to Offset removes it.
type TornTailError struct {
	Path   string
	Offset int64 // where the incomplete record starts
	Have   int64 // bytes of it present (to the end of the file)
	Want   int64 // its length as declared by its header; 0 if the header itself is incomplete
}

func (e *TornTailError) Error() string {
	if e.Want == 0 {
		return fmt.Sprintf("walcodec: torn tail in %s at offset %d: %d of %d header bytes present", e.Path, e.Offset, e.Have, HeaderSize)
	}
	return fmt.Sprintf("walcodec: torn tail in %s at offset %d: %d of %d record bytes present", e.Path, e.Offset, e.Have, e.Want)
}

// CorruptError reports a record that is present but does not decode: a
// checksum mismatch or broken framing. Offset is the byte offset of the
// record's first byte in the segment.
type CorruptError struct {
	Path   string
	Offset int64
	Err    error // wraps ErrChecksum or ErrFraming
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("walcodec: corrupt segment %s: %s", e.Path, e.Reason())
}

// Reason is the error without the path, e.g. "InvalidChecksum at offset 12345:
// stored 0x…, computed 0x…" or "bad framing at offset 0: …".
func (e *CorruptError) Reason() string {
	kind, sentinel := "bad framing", ErrFraming
	if errors.Is(e.Err, ErrChecksum) {
		kind, sentinel = "InvalidChecksum", ErrChecksum
	}
	detail := "unknown cause"
	if e.Err != nil {
		detail = strings.TrimSuffix(e.Err.Error(), ": "+sentinel.Error())
	}
	return fmt.Sprintf("%s at offset %d: %s", kind, e.Offset, detail)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// SegmentReader reads the records of one segment in order.
//
// Batch slices of a returned Record alias a buffer the reader never writes
// again, so they stay valid after later calls to Next (holding one keeps its
// read buffer, at most max(1 MiB, record size), alive).
type SegmentReader struct {
	path string
	r    io.ReaderAt
	size int64
	mode Mode

	pos    int64  // offset of the next record
	buf    []byte // file bytes [bufOff, bufOff+len(buf))
	bufOff int64

	err    error // sticky: returned again by every later Next
	errPos int64
}

// NewSegmentReader reads the segment at path (used only in errors) through r,
// whose first size bytes are the segment.
func NewSegmentReader(path string, r io.ReaderAt, size int64, mode Mode) *SegmentReader {
	return &SegmentReader{path: path, r: r, size: max(size, 0), mode: mode}
}

// Next returns the next record and its byte offset in the segment. At a clean
// end it returns io.EOF (with pos = the segment size). An incomplete final
// record gives *TornTailError, a record that does not decode *CorruptError, a
// V3 record in ReadV2Only mode an error wrapping ErrV3InV2Mode; pos is then
// the offset of that record. After an error every call returns it again.
func (s *SegmentReader) Next() (rec Record, pos int64, err error) {
	if s.err != nil {
		return Record{}, s.errPos, s.err
	}
	pos = s.pos
	rec, n, err := s.next(pos)
	if err != nil {
		s.err, s.errPos = err, pos
		return Record{}, pos, err
	}
	s.pos += int64(n)
	return rec, pos, nil
}

func (s *SegmentReader) next(pos int64) (Record, int, error) {
	remaining := s.size - pos
	if remaining <= 0 {
		return Record{}, 0, io.EOF
	}
	if remaining < HeaderSize {
		b, err := s.window(pos, int(remaining))
		if err != nil {
			return Record{}, 0, err
		}
		if err := checkHeaderPrefix(b, s.mode); err != nil {
			return Record{}, 0, s.classify(pos, err)
		}
		return Record{}, 0, &TornTailError{Path: s.path, Offset: pos, Have: remaining}
	}
	hdr, err := s.window(pos, HeaderSize)
	if err != nil {
		return Record{}, 0, err
	}
	total, err := PeekHeader(hdr, s.mode)
	if err != nil {
		return Record{}, 0, s.classify(pos, err)
	}
	if int64(total) > remaining {
		// Either the final record is torn, or its length field is damaged
		// and points past the end: then a valid record still follows.
		at, found, err := s.findValidRecord(pos + 1)
		if err != nil {
			return Record{}, 0, err
		}
		if found {
			return Record{}, 0, &CorruptError{Path: s.path, Offset: pos, Err: fmt.Errorf(
				"record length %d runs past the end of the segment (%d bytes left) but a valid record starts at offset %d: %w",
				total, remaining, at, ErrFraming)}
		}
		return Record{}, 0, &TornTailError{Path: s.path, Offset: pos, Have: remaining, Want: int64(total)}
	}
	b, err := s.window(pos, total)
	if err != nil {
		return Record{}, 0, err
	}
	rec, n, err := DecodeRecord(b, s.mode)
	if err != nil {
		return Record{}, 0, s.classify(pos, err)
	}
	return rec, n, nil
}

func (s *SegmentReader) classify(pos int64, err error) error {
	if errors.Is(err, ErrV3InV2Mode) {
		return fmt.Errorf("walcodec: segment %s at offset %d: %w", s.path, pos, err)
	}
	return &CorruptError{Path: s.path, Offset: pos, Err: err}
}

// checkHeaderPrefix accepts b (shorter than a header) if it can be the start
// of a record header.
func checkHeaderPrefix(b []byte, mode Mode) error {
	for _, h := range [...]struct {
		magic   uint32
		version uint8
	}{{MagicV2, V2}, {MagicV3, V3}} {
		var want [5]byte
		binary.BigEndian.PutUint32(want[:], h.magic)
		want[4] = h.version
		k := min(len(b), len(want))
		if !bytes.Equal(b[:k], want[:k]) {
			continue
		}
		if k == len(want) && h.version == V3 && mode == ReadV2Only {
			return ErrV3InV2Mode
		}
		if len(b) >= 9 {
			if length := binary.BigEndian.Uint32(b[5:]); length > MaxBodySize {
				return fmt.Errorf("body length %d exceeds %d: %w", length, MaxBodySize, ErrFraming)
			}
		}
		return nil
	}
	return fmt.Errorf("%d trailing bytes are not the start of a record: %w", len(b), ErrFraming)
}

// window returns the n file bytes at off (off+n <= size). When they are not
// buffered it reads max(n, readAhead) bytes, bounded by the file size, into a
// new buffer so that slices handed out earlier stay intact.
func (s *SegmentReader) window(off int64, n int) ([]byte, error) {
	if off >= s.bufOff && off+int64(n) <= s.bufOff+int64(len(s.buf)) {
		i := off - s.bufOff
		return s.buf[i : i+int64(n) : i+int64(n)], nil
	}
	want := min(max(int64(n), readAhead), s.size-off)
	buf := make([]byte, want)
	if err := s.readAt(buf, off); err != nil {
		return nil, err
	}
	s.buf, s.bufOff = buf, off
	return buf[:n:n], nil
}

func (s *SegmentReader) readAt(p []byte, off int64) error {
	n, err := s.r.ReadAt(p, off)
	if n == len(p) {
		return nil // io.ReaderAt may report io.EOF along with a full read
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("walcodec: read %s at offset %d: %w", s.path, off+int64(n), err)
}

// findValidRecord looks for a complete record with a matching checksum
// starting at or after from, reading scanChunk bytes at a time.
func (s *SegmentReader) findValidRecord(from int64) (at int64, found bool, err error) {
	if s.size-from < HeaderSize {
		return 0, false, nil
	}
	buf := make([]byte, min(scanChunk, s.size-from))
	var crcBuf []byte
	magicPrefix := []byte("WAL")
	for off := from; ; {
		n := min(int64(len(buf)), s.size-off)
		chunk := buf[:n]
		if err := s.readAt(chunk, off); err != nil {
			return 0, false, err
		}
		for i := 0; ; {
			j := bytes.Index(chunk[i:], magicPrefix)
			if j < 0 {
				break
			}
			cand := off + int64(i+j)
			if s.size-cand < HeaderSize {
				return 0, false, nil
			}
			if crcBuf == nil {
				crcBuf = make([]byte, len(buf))
			}
			ok, err := s.validAt(cand, crcBuf)
			if err != nil || ok {
				return cand, ok, err
			}
			i += j + 1
		}
		if off+n >= s.size {
			return 0, false, nil
		}
		off += n - int64(len(magicPrefix)-1) // overlap: a magic may straddle chunks
	}
}

// validAt reports whether a complete record with a valid checksum starts at
// off. It streams the body through the checksum with buf as scratch space.
func (s *SegmentReader) validAt(off int64, buf []byte) (bool, error) {
	var hdr [HeaderSize]byte
	if err := s.readAt(hdr[:], off); err != nil {
		return false, err
	}
	total, err := PeekHeader(hdr[:], ReadAny)
	if err != nil || int64(total) > s.size-off {
		return false, nil
	}
	crc := uint32(0)
	for p, end := off+HeaderSize, off+int64(total); p < end; {
		chunk := buf[:min(int64(len(buf)), end-p)]
		if err := s.readAt(chunk, p); err != nil {
			return false, err
		}
		crc = crc32.Update(crc, castagnoli, chunk)
		p += int64(len(chunk))
	}
	return crc == binary.BigEndian.Uint32(hdr[9:]), nil
}
