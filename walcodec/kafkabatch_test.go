package walcodec_test

// Test-only construction and parsing of Kafka RecordBatches (magic 2). The
// package itself must import only the standard library, so the fixtures are
// built here with encoding/binary, hash/crc32 and compress/gzip; the
// cmd/chronik-server tests cross-check the golden files with franz-go's kmsg.

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"testing"

	"github.com/chronik-stream/chronik/walcodec"
)

type kHeader struct {
	Key   string
	Value []byte // nil = null
}

type kRecord struct {
	TimestampDelta int64
	Key            []byte // nil = null
	Value          []byte // nil = null
	Headers        []kHeader
}

type kBatch struct {
	BaseOffset           int64
	PartitionLeaderEpoch int32
	FirstTimestamp       int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	Gzip                 bool
	Records              []kRecord
}

const (
	attrCodecMask = 0x07
	codecGzip     = 1
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

func appendVarBytes(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

// build encodes the batch exactly as a Kafka producer would.
func (kb kBatch) build(tb testing.TB) []byte {
	tb.Helper()
	var recs []byte
	maxTS := kb.FirstTimestamp
	for i, r := range kb.Records {
		var body []byte
		body = append(body, 0) // attributes
		body = binary.AppendVarint(body, r.TimestampDelta)
		body = binary.AppendVarint(body, int64(i)) // offset delta
		body = appendVarBytes(body, r.Key)
		body = appendVarBytes(body, r.Value)
		body = binary.AppendVarint(body, int64(len(r.Headers)))
		for _, h := range r.Headers {
			body = appendVarBytes(body, []byte(h.Key))
			body = appendVarBytes(body, h.Value)
		}
		recs = binary.AppendVarint(recs, int64(len(body)))
		recs = append(recs, body...)
		maxTS = max(maxTS, kb.FirstTimestamp+r.TimestampDelta)
	}
	var attrs int16
	if kb.Gzip {
		attrs |= codecGzip
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := zw.Write(recs); err != nil {
			tb.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			tb.Fatal(err)
		}
		recs = buf.Bytes()
	}
	b := binary.BigEndian.AppendUint64(nil, uint64(kb.BaseOffset))
	b = binary.BigEndian.AppendUint32(b, 0) // batch_length, below
	b = binary.BigEndian.AppendUint32(b, uint32(kb.PartitionLeaderEpoch))
	b = append(b, 2)                        // magic
	b = binary.BigEndian.AppendUint32(b, 0) // crc, below
	b = binary.BigEndian.AppendUint16(b, uint16(attrs))
	b = binary.BigEndian.AppendUint32(b, uint32(len(kb.Records)-1))
	b = binary.BigEndian.AppendUint64(b, uint64(kb.FirstTimestamp))
	b = binary.BigEndian.AppendUint64(b, uint64(maxTS))
	b = binary.BigEndian.AppendUint64(b, uint64(kb.ProducerID))
	b = binary.BigEndian.AppendUint16(b, uint16(kb.ProducerEpoch))
	b = binary.BigEndian.AppendUint32(b, uint32(kb.BaseSequence))
	b = binary.BigEndian.AppendUint32(b, uint32(len(kb.Records)))
	b = append(b, recs...)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32c))
	return b
}

// canonical indexes a built batch the way the storage layer does.
func canonical(b []byte) walcodec.CanonicalRecord {
	return walcodec.CanonicalRecord{
		BaseOffset:      int64(binary.BigEndian.Uint64(b[0:])),
		LastOffsetDelta: int32(binary.BigEndian.Uint32(b[23:])),
		MaxTimestamp:    int64(binary.BigEndian.Uint64(b[35:])),
		ProducerID:      int64(binary.BigEndian.Uint64(b[43:])),
		ProducerEpoch:   int16(binary.BigEndian.Uint16(b[51:])),
		BaseSequence:    int32(binary.BigEndian.Uint32(b[53:])),
		Batch:           b,
	}
}

// kReader reads the varint-framed fields of a batch's records.
type kReader struct {
	b   []byte
	err error
}

func (r *kReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *kReader) bytes() []byte {
	n := r.varint()
	if r.err != nil || n < 0 {
		return nil
	}
	if int64(len(r.b)) < n {
		r.err = fmt.Errorf("need %d bytes, have %d", n, len(r.b))
		return nil
	}
	v := append([]byte{}, r.b[:n]...)
	r.b = r.b[n:]
	return v
}

// parseBatch decodes a batch built by build (checking its length, CRC and
// record count) back into its definition.
func parseBatch(b []byte) (kBatch, error) {
	if len(b) < 61 {
		return kBatch{}, fmt.Errorf("batch of %d bytes", len(b))
	}
	if got := int(binary.BigEndian.Uint32(b[8:])); got != len(b)-12 {
		return kBatch{}, fmt.Errorf("batch_length %d, have %d", got, len(b)-12)
	}
	if b[16] != 2 {
		return kBatch{}, fmt.Errorf("magic %d", b[16])
	}
	if want, got := binary.BigEndian.Uint32(b[17:]), crc32.Checksum(b[21:], crc32c); want != got {
		return kBatch{}, fmt.Errorf("crc %#x, computed %#x", want, got)
	}
	attrs := binary.BigEndian.Uint16(b[21:])
	kb := kBatch{
		BaseOffset:           int64(binary.BigEndian.Uint64(b)),
		PartitionLeaderEpoch: int32(binary.BigEndian.Uint32(b[12:])),
		FirstTimestamp:       int64(binary.BigEndian.Uint64(b[27:])),
		ProducerID:           int64(binary.BigEndian.Uint64(b[43:])),
		ProducerEpoch:        int16(binary.BigEndian.Uint16(b[51:])),
		BaseSequence:         int32(binary.BigEndian.Uint32(b[53:])),
		Gzip:                 attrs&attrCodecMask == codecGzip,
	}
	n := int(binary.BigEndian.Uint32(b[57:]))
	recs := b[61:]
	switch attrs & attrCodecMask {
	case 0:
	case codecGzip:
		zr, err := gzip.NewReader(bytes.NewReader(recs))
		if err != nil {
			return kBatch{}, err
		}
		if recs, err = io.ReadAll(zr); err != nil {
			return kBatch{}, err
		}
	default:
		return kBatch{}, fmt.Errorf("codec %d", attrs&attrCodecMask)
	}
	r := &kReader{b: recs}
	for i := 0; i < n; i++ {
		length := r.varint()
		if r.err != nil || length < 1 || int64(len(r.b)) < length {
			return kBatch{}, fmt.Errorf("record %d: bad length", i)
		}
		rest := r.b[length:]
		r.b = r.b[:length]
		if r.b[0] != 0 {
			return kBatch{}, fmt.Errorf("record %d: attributes %d", i, r.b[0])
		}
		r.b = r.b[1:]
		var rec kRecord
		rec.TimestampDelta = r.varint()
		if d := r.varint(); d != int64(i) {
			return kBatch{}, fmt.Errorf("record %d: offset delta %d", i, d)
		}
		rec.Key = r.bytes()
		rec.Value = r.bytes()
		for h := r.varint(); h > 0 && r.err == nil; h-- {
			rec.Headers = append(rec.Headers, kHeader{Key: string(r.bytes()), Value: r.bytes()})
		}
		if r.err != nil || len(r.b) != 0 {
			return kBatch{}, fmt.Errorf("record %d: %v (%d bytes left)", i, r.err, len(r.b))
		}
		kb.Records = append(kb.Records, rec)
		r.b = rest
	}
	if len(r.b) != 0 {
		return kBatch{}, fmt.Errorf("%d bytes after %d records", len(r.b), n)
	}
	if want := int32(n - 1); int32(binary.BigEndian.Uint32(b[23:])) != want {
		return kBatch{}, fmt.Errorf("last_offset_delta %d, want %d", int32(binary.BigEndian.Uint32(b[23:])), want)
	}
	return kb, nil
}
