package walcodec_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/chronik-stream/chronik/walcodec"
)

// goldenSeeds: both golden segments whole, each record alone, and a few
// hostile headers.
func goldenSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, v := range []uint8{walcodec.V2, walcodec.V3} {
		data, err := os.ReadFile(goldenPath(v))
		if err != nil {
			f.Fatalf("%v (regenerate with: go test ./walcodec -run Golden -update)", err)
		}
		seeds = append(seeds, data)
		_, pos, _ := readAll(data, walcodec.ReadAny)
		for i, p := range pos {
			end := int64(len(data))
			if i+1 < len(pos) {
				end = pos[i+1]
			}
			seeds = append(seeds, data[p:end])
		}
	}
	hostile := binary.BigEndian.AppendUint32(nil, walcodec.MagicV3)
	hostile = append(hostile, walcodec.V3)
	hostile = binary.BigEndian.AppendUint32(hostile, walcodec.MaxBodySize)
	hostile = binary.BigEndian.AppendUint32(hostile, 0)
	return append(seeds, nil, []byte("WAL2\x02"), hostile, append(bytes.Clone(hostile), 1, 0, 0, 0, 0, 0, 0, 0, 0))
}

var knownErrs = []error{walcodec.ErrShort, walcodec.ErrChecksum, walcodec.ErrFraming, walcodec.ErrV3InV2Mode}

func isKnown(err error) bool {
	for _, k := range knownErrs {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

func checkDecode(t *testing.T, b []byte, mode walcodec.Mode) error {
	rec, n, err := walcodec.DecodeRecord(b, mode)
	if err != nil {
		if !isKnown(err) {
			t.Fatalf("unclassified error %v", err)
		}
		return err
	}
	if n < walcodec.HeaderSize || n > len(b) {
		t.Fatalf("consumed %d of %d bytes", n, len(b))
	}
	if total, err := walcodec.PeekHeader(b, mode); err != nil || total != n {
		t.Fatalf("PeekHeader %d, %v; DecodeRecord consumed %d", total, err, n)
	}
	if rec.Version == walcodec.V2 && rec.Raft != nil || mode == walcodec.ReadV2Only && rec.Version != walcodec.V2 {
		t.Fatalf("version %d raft %v in mode %d", rec.Version, rec.Raft, mode)
	}
	for _, c := range rec.Canonical {
		if c.BatchPos < walcodec.HeaderSize || c.BatchPos+len(c.Batch) > n || !bytes.Equal(b[c.BatchPos:c.BatchPos+len(c.Batch)], c.Batch) {
			t.Fatalf("BatchPos %d (len %d) does not locate the batch", c.BatchPos, len(c.Batch))
		}
	}
	if walcodec.EncodedSize(&rec) != n {
		t.Fatalf("EncodedSize %d, consumed %d", walcodec.EncodedSize(&rec), n)
	}
	enc, err := walcodec.AppendRecord(nil, &rec)
	if err != nil || !bytes.Equal(enc, b[:n]) {
		t.Fatalf("re-encoding differs (err %v)", err)
	}
	return nil
}

func FuzzDecodeRecord(f *testing.F) {
	for _, s := range goldenSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b, walcodec.ReadAny)
		checkDecode(t, b, walcodec.ReadV2Only)
		// Fix up the length and checksum so the body decoder sees the
		// fuzzer's bytes: the only possible failures are then framing.
		if len(b) >= walcodec.HeaderSize && len(b)-walcodec.HeaderSize <= walcodec.MaxBodySize {
			fixed := fixChecksum(bytes.Clone(b))
			if err := checkDecode(t, fixed, walcodec.ReadAny); err != nil &&
				!errors.Is(err, walcodec.ErrFraming) {
				t.Fatalf("checksummed record failed with %v", err)
			}
		}
	})
}

func FuzzSegmentReader(f *testing.F) {
	for _, s := range goldenSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mode := range []walcodec.Mode{walcodec.ReadAny, walcodec.ReadV2Only} {
			br := newBounded(t, data)
			sr := walcodec.NewSegmentReader("fuzz.log", br, int64(len(data)), mode)
			next := int64(0)
			for i := 0; ; i++ {
				if i > len(data)/walcodec.HeaderSize+1 {
					t.Fatalf("%d records from %d bytes", i, len(data))
				}
				rec, pos, err := sr.Next()
				if pos != next {
					t.Fatalf("record or error at %d, want %d (%v)", pos, next, err)
				}
				var torn *walcodec.TornTailError
				var ce *walcodec.CorruptError
				switch {
				case err == nil:
					enc, encErr := walcodec.AppendRecord(nil, &rec)
					if encErr != nil || !bytes.Equal(enc, data[pos:pos+int64(len(enc))]) {
						t.Fatalf("record at %d does not re-encode to its bytes (%v)", pos, encErr)
					}
					next = pos + int64(len(enc))
					continue
				case errors.Is(err, io.EOF):
					if pos != int64(len(data)) {
						t.Fatalf("EOF at %d of %d", pos, len(data))
					}
				case errors.As(err, &torn):
					if torn.Offset != pos || torn.Have != int64(len(data))-pos ||
						(torn.Want == 0) != (torn.Have < walcodec.HeaderSize) || torn.Want != 0 && torn.Want <= torn.Have {
						t.Fatalf("torn tail %+v at %d of %d", torn, pos, len(data))
					}
				case errors.As(err, &ce):
					if ce.Offset != pos || !errors.Is(err, walcodec.ErrChecksum) && !errors.Is(err, walcodec.ErrFraming) {
						t.Fatalf("corrupt %v at %d", err, pos)
					}
				case errors.Is(err, walcodec.ErrV3InV2Mode):
					if mode != walcodec.ReadV2Only {
						t.Fatalf("%v in ReadAny mode", err)
					}
				default:
					t.Fatalf("unclassified error %v", err)
				}
				break
			}
			if br.maxRead > max(len(data), 0) {
				t.Fatalf("read %d bytes at once from %d", br.maxRead, len(data))
			}
		}
	})
}
