package walmigrate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/chronik-stream/chronik/walcodec"
)

// writeBuffer is the output buffer of one conversion.
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
// is replaced), fsyncs it and verifies it by reading it back. A torn tail of
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
	bw := bufio.NewWriterSize(out, writeBuffer)
	w := walcodec.NewWriter(bw)
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
		if _, err := w.Append(&rec); err != nil {
			return res, fmt.Errorf("writing %s: %w", dst, err)
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
	if err := bw.Flush(); err != nil {
		return res, fmt.Errorf("writing %s: %w", dst, err)
	}
	if err := out.Sync(); err != nil {
		return res, fmt.Errorf("fsync %s: %w", dst, err)
	}
	err = out.Close()
	out = nil
	if err != nil {
		return res, fmt.Errorf("closing %s: %w", dst, err)
	}
	res.OutBytes = w.Written()
	if err := verifyOutput(dst, &res); err != nil {
		return res, err
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

// verifyOutput reads a written segment back: every record checksum, every
// Kafka batch CRC and offset, and the counts must match what was written.
func verifyOutput(path string, res *segResult) error {
	sum, err := walcodec.VerifySegment(path, walcodec.ReadAny)
	switch {
	case err != nil:
		return fmt.Errorf("verifying the written segment %s: %w", path, err)
	case sum.TornTail != nil || sum.ValidBytes != sum.Size || sum.Size != res.OutBytes:
		return fmt.Errorf("verifying the written segment %s: %d valid of %d bytes, %d written", path, sum.ValidBytes, sum.Size, res.OutBytes)
	case int64(sum.Records) != res.Records || int64(sum.V3Records) != res.Records || int64(sum.Batches) != res.Batches:
		return fmt.Errorf("verifying the written segment %s: %d records (%d V3) and %d batches, %d and %d written",
			path, sum.Records, sum.V3Records, sum.Batches, res.Records, res.Batches)
	case res.Batches > 0 && (sum.FirstOffset != res.FirstOff || sum.LastOffset != res.LastOff):
		return fmt.Errorf("verifying the written segment %s: offsets %d..%d, %d..%d written", path, sum.FirstOffset, sum.LastOffset, res.FirstOff, res.LastOff)
	}
	return nil
}
