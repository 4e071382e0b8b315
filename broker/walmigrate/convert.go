package walmigrate

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/chronik-stream/chronik/walcodec"
)

// writeBuffer is the output buffer of one conversion: records are encoded
// into it, verified there and written when it holds this many bytes.
const writeBuffer = 1 << 20

// DamageError reports a damaged input segment: a record whose checksum or
// framing is wrong, or a torn record that is not at the end of its
// partition's last segment.
type DamageError struct {
	Path   string
	Offset int64 // byte offset of the damaged record in the segment
	Err    error // *walcodec.CorruptError or *walcodec.TornTailError
}

// Reason is the damage and where, without the path: "InvalidChecksum at
// offset 12345", "bad framing at offset 0", "torn record at offset 77".
func (e *DamageError) Reason() string {
	var torn *walcodec.TornTailError
	switch {
	case errors.Is(e.Err, walcodec.ErrChecksum):
		return fmt.Sprintf("InvalidChecksum at offset %d", e.Offset)
	case errors.As(e.Err, &torn):
		return fmt.Sprintf("torn record at offset %d", e.Offset)
	default:
		return fmt.Sprintf("bad framing at offset %d", e.Offset)
	}
}

func (e *DamageError) Error() string {
	var ce *walcodec.CorruptError
	var torn *walcodec.TornTailError
	detail := ""
	switch {
	case errors.As(e.Err, &ce):
		detail = strings.TrimPrefix(ce.Reason(), e.Reason()+": ")
	case errors.As(e.Err, &torn):
		detail = fmt.Sprintf("%d of %d bytes present, and it is not the last segment of its partition", torn.Have, torn.Want)
	case e.Err != nil:
		detail = e.Err.Error()
	}
	return fmt.Sprintf("%s in %s (%s)", e.Reason(), e.Path, detail)
}

func (e *DamageError) Unwrap() error { return e.Err }

// segResult is what one conversion did.
type segResult struct {
	Records    int64 // WAL records written
	Converted  int64 // of them, V2 records converted
	Batches    int64
	KeptBytes  int64 // input bytes carried over (the whole segment unless damaged or torn)
	OutBytes   int64
	FirstOff   int64 // first Kafka offset written (-1 if none)
	LastOff    int64 // last Kafka offset written (-1 if none)
	Torn       *walcodec.TornTailError
	Damage     *DamageError // tolerated damage (skip-errors)
	WasVersion uint8
}

// convertSegment writes the V3 form of src to dst (a new file; a stale one
// is replaced) and fsyncs it. The output is verified from the exact bytes
// written (outVerifier: record checksums, Kafka batch CRCs, offsets, counts)
// before each write, and the file's size is checked after fsync. A torn tail of
// the partition's last segment is dropped (res.Torn); other damage is a
// *DamageError unless tolerate, which keeps the good prefix (res.Damage).
// On error dst is removed.
func convertSegment(ctx context.Context, src segmentFile, dst string, tolerate bool) (res segResult, err error) {
	res.FirstOff, res.LastOff = -1, -1
	in, err := os.Open(src.Path)
	if err != nil {
		return res, err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return res, err
	}
	size := st.Size()

	_ = os.Remove(dst)
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return res, err
	}
	defer func() {
		if out != nil {
			_ = out.Close()
		}
		if err != nil {
			_ = os.Remove(dst)
		}
	}()
	buf := make([]byte, 0, writeBuffer+64<<10)
	var ver outVerifier
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if err := ver.check(buf, res.OutBytes); err != nil {
			return fmt.Errorf("verifying the segment written to %s: %w", dst, err)
		}
		if _, err := out.Write(buf); err != nil {
			return fmt.Errorf("writing %s: %w", dst, err)
		}
		res.OutBytes += int64(len(buf))
		buf = buf[:0]
		return nil
	}
	sr := walcodec.NewSegmentReader(src.Path, in, size, walcodec.ReadAny)
	for {
		if res.Records%256 == 0 {
			if err := ctx.Err(); err != nil {
				return res, err
			}
		}
		rec, pos, rerr := sr.Next()
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				res.KeptBytes = size
				break
			}
			res.KeptBytes = pos
			damage, derr := classify(src, in, size, pos, rerr)
			if derr != nil {
				return res, derr
			}
			if damage == nil { // a torn tail the broker would truncate too
				var torn *walcodec.TornTailError
				if !errors.As(rerr, &torn) {
					torn = &walcodec.TornTailError{Path: src.Path, Offset: pos, Have: size - pos}
				}
				res.Torn = torn
				break
			}
			if !tolerate {
				return res, damage
			}
			res.Damage = damage
			break
		}
		if res.Records == 0 {
			res.WasVersion = rec.Version
		}
		if rec.Version == walcodec.V2 {
			res.Converted++
		}
		rec.ToV3()
		if buf, err = walcodec.AppendRecord(buf, &rec); err != nil {
			return res, fmt.Errorf("encoding record %d of %s for %s: %w", res.Records, src.Path, dst, err)
		}
		if len(buf) >= writeBuffer {
			if err := flush(); err != nil {
				return res, err
			}
		}
		res.Records++
		for i := range rec.Canonical {
			c := &rec.Canonical[i]
			if res.FirstOff < 0 {
				res.FirstOff = c.BaseOffset
			}
			res.LastOff = c.LastOffset()
			res.Batches++
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	if err := ver.matches(&res); err != nil {
		return res, fmt.Errorf("verifying the segment written to %s: %w", dst, err)
	}
	if err := out.Sync(); err != nil {
		return res, fmt.Errorf("fsync %s: %w", dst, err)
	}
	if st, err := out.Stat(); err != nil {
		return res, fmt.Errorf("stat %s: %w", dst, err)
	} else if st.Size() != res.OutBytes {
		return res, fmt.Errorf("verifying the segment written to %s: %d bytes on disk, %d written", dst, st.Size(), res.OutBytes)
	}
	err = out.Close()
	out = nil
	if err != nil {
		return res, fmt.Errorf("closing %s: %w", dst, err)
	}
	return res, nil
}

// classify decides what an error of the segment reader at pos means: nil
// damage for a torn tail (or an all-zero tail, as a crash after the file grew
// leaves) in the partition's last segment, a *DamageError for other damage,
// or derr for failures that are not about the data (I/O).
func classify(src segmentFile, f *os.File, size, pos int64, rerr error) (damage *DamageError, derr error) {
	var torn *walcodec.TornTailError
	var corrupt *walcodec.CorruptError
	switch {
	case errors.As(rerr, &torn):
		if src.Last {
			return nil, nil
		}
	case errors.As(rerr, &corrupt):
		if src.Last {
			zero, err := zeroTail(f, pos, size)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", src.Path, err)
			}
			if zero {
				return nil, nil
			}
		}
	default:
		return nil, fmt.Errorf("reading %s: %w", src.Path, rerr)
	}
	return &DamageError{Path: src.Path, Offset: pos, Err: rerr}, nil
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

// outVerifier checks the encoded output before it is written, from the
// exact bytes handed to write(2): every record decodes as V3 with a matching
// checksum, every Kafka batch has a valid header and CRC-32C, offsets rise,
// and the totals match what the conversion counted. (Reading the file back
// after fsync would read the page cache, the same bytes, at the cost of a
// second read and checksum pass.)
type outVerifier struct {
	records, batches  int64
	firstOff, lastOff int64
}

// check verifies buf, which starts at byte base of the output.
func (v *outVerifier) check(buf []byte, base int64) error {
	if v.records == 0 && v.batches == 0 {
		v.firstOff, v.lastOff = -1, -1
	}
	for pos := 0; pos < len(buf); {
		rec, n, err := walcodec.DecodeRecord(buf[pos:], walcodec.ReadAny)
		switch {
		case err != nil:
			return fmt.Errorf("record at offset %d: %w", base+int64(pos), err)
		case rec.Version != walcodec.V3:
			return fmt.Errorf("record at offset %d is version %d, want V3", base+int64(pos), rec.Version)
		}
		for i := range rec.Canonical {
			c := &rec.Canonical[i]
			if err := checkKafkaBatch(c, v.lastOff); err != nil {
				return fmt.Errorf("batch at offset %d (record at %d): %w", base+int64(pos+c.BatchPos), base+int64(pos), err)
			}
			if v.firstOff < 0 {
				v.firstOff = c.BaseOffset
			}
			v.lastOff = c.LastOffset()
			v.batches++
		}
		v.records++
		pos += n
	}
	return nil
}

// matches compares the verified totals with the conversion's counts.
func (v *outVerifier) matches(res *segResult) error {
	switch {
	case v.records != res.Records || v.batches != res.Batches:
		return fmt.Errorf("%d records and %d batches verified, %d and %d written", v.records, v.batches, res.Records, res.Batches)
	case res.Batches > 0 && (v.firstOff != res.FirstOff || v.lastOff != res.LastOff):
		return fmt.Errorf("offsets %d..%d verified, %d..%d written", v.firstOff, v.lastOff, res.FirstOff, res.LastOff)
	}
	return nil
}

// Kafka RecordBatch (magic 2) header layout.
const (
	kbLengthPos    = 8  // batch_length int32
	kbMagicPos     = 16 // magic int8
	kbCRCPos       = 17 // crc uint32, CRC-32C of everything from attributes on
	kbCRCFrom      = 21
	kbLastDeltaPos = 23 // last_offset_delta int32
	kbHeaderSize   = 61
)

// checkKafkaBatch checks c's RecordBatch: header, CRC-32C, that it agrees
// with the canonical record, and that it starts after prevLast.
func checkKafkaBatch(c *walcodec.CanonicalRecord, prevLast int64) error {
	b := c.Batch
	switch {
	case len(b) < kbHeaderSize:
		return fmt.Errorf("%d bytes, shorter than a RecordBatch header", len(b))
	case b[kbMagicPos] != 2:
		return fmt.Errorf("magic %d, want 2", b[kbMagicPos])
	case int64(int32(binary.BigEndian.Uint32(b[kbLengthPos:]))) != int64(len(b)-kbLengthPos-4):
		return fmt.Errorf("batch_length %d, but %d bytes follow it", int32(binary.BigEndian.Uint32(b[kbLengthPos:])), len(b)-kbLengthPos-4)
	}
	if want, got := binary.BigEndian.Uint32(b[kbCRCPos:]), walcodec.Checksum(b[kbCRCFrom:]); want != got {
		return fmt.Errorf("CRC-32C stored %#08x, computed %#08x", want, got)
	}
	switch {
	case int64(binary.BigEndian.Uint64(b)) != c.BaseOffset:
		return fmt.Errorf("base_offset %d, canonical record says %d", int64(binary.BigEndian.Uint64(b)), c.BaseOffset)
	case int32(binary.BigEndian.Uint32(b[kbLastDeltaPos:])) != c.LastOffsetDelta:
		return fmt.Errorf("last_offset_delta %d, canonical record says %d", int32(binary.BigEndian.Uint32(b[kbLastDeltaPos:])), c.LastOffsetDelta)
	case c.BaseOffset <= prevLast:
		return fmt.Errorf("base offset %d not after the previous batch's last offset %d", c.BaseOffset, prevLast)
	}
	return nil
}
