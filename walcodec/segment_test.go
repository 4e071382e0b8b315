package walcodec_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/chronik-stream/chronik/walcodec"
)

// testSegment encodes recs back to back and returns the bytes and each record's offset.
func testSegment(tb testing.TB, recs []walcodec.Record) (data []byte, starts []int64) {
	tb.Helper()
	for i := range recs {
		starts = append(starts, int64(len(data)))
		var err error
		if data, err = walcodec.AppendRecord(data, &recs[i]); err != nil {
			tb.Fatal(err)
		}
	}
	return data, starts
}

// mixedRecords: V2 and V3 records, with and without raft meta, offsets 0..14.
func mixedRecords(tb testing.TB) []walcodec.Record {
	return []walcodec.Record{
		{Version: walcodec.V2, Type: walcodec.RecordData, Timestamp: goldenTS, Canonical: []walcodec.CanonicalRecord{canonical(testBatch(tb, 0, 2))}},
		{Version: walcodec.V3, Type: walcodec.RecordData, Timestamp: goldenTS + 1, Canonical: []walcodec.CanonicalRecord{canonical(testBatch(tb, 2, 3)), canonical(testBatch(tb, 5, 1))}},
		{Version: walcodec.V3, Type: walcodec.RecordData, Timestamp: goldenTS + 2, Raft: &walcodec.RaftMeta{Term: 2, Index: 9, LeaderID: 3}},
		{Version: walcodec.V3, Type: walcodec.RecordData, Timestamp: goldenTS + 3, Raft: &walcodec.RaftMeta{Term: 2, Index: 10, LeaderID: 3},
			Canonical: []walcodec.CanonicalRecord{canonical(testBatch(tb, 6, 4))}},
		{Version: walcodec.V3, Type: walcodec.RecordData, Timestamp: goldenTS + 4, Raft: &walcodec.RaftMeta{Term: 3, Index: 11, LeaderID: 1},
			Canonical: []walcodec.CanonicalRecord{canonical(testBatch(tb, 10, 5))}},
	}
}

func v2Records(tb testing.TB) []walcodec.Record {
	return []walcodec.Record{
		{Version: walcodec.V2, Type: walcodec.RecordData, Timestamp: goldenTS, Canonical: []walcodec.CanonicalRecord{canonical(testBatch(tb, 0, 2))}},
		{Version: walcodec.V2, Type: walcodec.RecordData, Timestamp: goldenTS + 1, Canonical: []walcodec.CanonicalRecord{canonical(testBatch(tb, 2, 2))}},
	}
}

// boundedReaderAt fails the test if a reader asks for bytes beyond size and
// records the largest read.
type boundedReaderAt struct {
	tb      testing.TB
	r       *bytes.Reader
	size    int64
	maxRead int
}

func (b *boundedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > b.size {
		b.tb.Errorf("ReadAt(%d bytes at %d) beyond the segment size %d", len(p), off, b.size)
	}
	b.maxRead = max(b.maxRead, len(p))
	return b.r.ReadAt(p, off)
}

func newBounded(tb testing.TB, data []byte) *boundedReaderAt {
	return &boundedReaderAt{tb: tb, r: bytes.NewReader(data), size: int64(len(data))}
}

// readThrough reads data with a bounded reader and checks that the records
// read are the first len(recs) of want, at the expected offsets.
func readThrough(t *testing.T, data []byte, mode walcodec.Mode, want []walcodec.Record, starts []int64) (n int, end error) {
	t.Helper()
	sr := walcodec.NewSegmentReader("seg.log", newBounded(t, data), int64(len(data)), mode)
	for {
		rec, pos, err := sr.Next()
		if err != nil {
			// sticky
			if _, pos2, err2 := sr.Next(); err2 != err || pos2 != pos {
				t.Fatalf("second Next after %v gave %v at %d", err, err2, pos2)
			}
			return n, err
		}
		if n >= len(want) {
			t.Fatalf("record %d at %d beyond the %d expected", n, pos, len(want))
		}
		if pos != starts[n] {
			t.Fatalf("record %d at offset %d, want %d", n, pos, starts[n])
		}
		enc, _ := walcodec.AppendRecord(nil, &rec)
		wantEnc, _ := walcodec.AppendRecord(nil, &want[n])
		if !bytes.Equal(enc, wantEnc) {
			t.Fatalf("record %d differs from what was written", n)
		}
		n++
	}
}

func TestSegmentReaderClean(t *testing.T) {
	recs := mixedRecords(t)
	data, starts := testSegment(t, recs)
	n, end := readThrough(t, data, walcodec.ReadAny, recs, starts)
	if n != len(recs) || !errors.Is(end, io.EOF) {
		t.Fatalf("read %d of %d records, end %v", n, len(recs), end)
	}
	sr := walcodec.NewSegmentReader("empty.log", bytes.NewReader(nil), 0, walcodec.ReadAny)
	if _, pos, err := sr.Next(); !errors.Is(err, io.EOF) || pos != 0 {
		t.Fatalf("empty segment: %v at %d", err, pos)
	}
}

func TestSegmentReaderTornTailAtEveryCut(t *testing.T) {
	recs := mixedRecords(t)
	data, starts := testSegment(t, recs)
	last := starts[len(starts)-1]
	for cut := last; cut < int64(len(data)); cut++ {
		n, end := readThrough(t, data[:cut], walcodec.ReadAny, recs, starts)
		if n != len(recs)-1 {
			t.Fatalf("cut at %d: %d records before the tail, want %d", cut, n, len(recs)-1)
		}
		if cut == last {
			if !errors.Is(end, io.EOF) {
				t.Fatalf("cut at a record boundary: %v, want io.EOF", end)
			}
			continue
		}
		var torn *walcodec.TornTailError
		if !errors.As(end, &torn) {
			t.Fatalf("cut at %d: %v, want *TornTailError", cut, end)
		}
		want := walcodec.TornTailError{Path: "seg.log", Offset: last, Have: cut - last}
		if want.Have >= walcodec.HeaderSize {
			want.Want = int64(len(data)) - last
		}
		if *torn != want {
			t.Fatalf("cut at %d: %+v, want %+v", cut, *torn, want)
		}
		if !strings.Contains(torn.Error(), fmt.Sprintf("seg.log at offset %d", last)) {
			t.Fatalf("message %q does not name the path and offset", torn.Error())
		}
	}
}

func TestSegmentReaderFlippedByteIsCorruption(t *testing.T) {
	recs := mixedRecords(t)
	data, starts := testSegment(t, recs)
	last := starts[len(starts)-1]
	recordAt := func(p int64) int {
		k := 0
		for k+1 < len(starts) && starts[k+1] <= p {
			k++
		}
		return k
	}
	for p := int64(0); p < last; p++ {
		for _, flip := range []byte{0x01, 0xff} {
			bad := bytes.Clone(data)
			bad[p] ^= flip
			k := recordAt(p)
			n, end := readThrough(t, bad, walcodec.ReadAny, recs, starts)
			var ce *walcodec.CorruptError
			if n != k || !errors.As(end, &ce) || ce.Offset != starts[k] || ce.Path != "seg.log" {
				t.Fatalf("byte %d ^%#x (record %d at %d): %d records then %v; want CorruptError at %d", p, flip, k, starts[k], n, end, starts[k])
			}
			within := p - starts[k]
			switch {
			case within < 5: // magic, version
				if !errors.Is(end, walcodec.ErrFraming) {
					t.Fatalf("byte %d: %v, want ErrFraming", p, end)
				}
			case within < 9: // length: framing or checksum depending on where it points
				if !errors.Is(end, walcodec.ErrFraming) && !errors.Is(end, walcodec.ErrChecksum) {
					t.Fatalf("byte %d: %v", p, end)
				}
			default: // checksum, body
				if !errors.Is(end, walcodec.ErrChecksum) {
					t.Fatalf("byte %d: %v, want ErrChecksum", p, end)
				}
				if msg := fmt.Sprintf("walcodec: corrupt segment seg.log: InvalidChecksum at offset %d: stored 0x", starts[k]); !strings.HasPrefix(end.Error(), msg) ||
					strings.Contains(end.Error(), walcodec.ErrChecksum.Error()) {
					t.Fatalf("message %q should start %q and not repeat the sentinel", end.Error(), msg)
				}
			}
			if !strings.Contains(end.Error(), "seg.log") {
				t.Fatalf("message %q does not name the segment", end.Error())
			}
		}
	}
}

func TestSegmentReaderFinalRecordDamage(t *testing.T) {
	recs := mixedRecords(t)
	data, starts := testSegment(t, recs)
	last := starts[len(starts)-1]
	for _, tc := range []struct {
		name string
		at   int64
		xor  byte
		want error // nil = torn tail
	}{
		{"magic", last, 0x01, walcodec.ErrFraming},
		{"checksum", last + 10, 0x01, walcodec.ErrChecksum},
		{"body", int64(len(data)) - 1, 0x01, walcodec.ErrChecksum},
		{"length shrinks", last + 5, 0, walcodec.ErrChecksum}, // decremented below
		// A final record whose length points past the end looks exactly like a torn write.
		{"length grows past the end", last + 6, 0x01, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := bytes.Clone(data)
			if tc.name == "length shrinks" {
				binary.BigEndian.PutUint32(bad[last+5:], binary.BigEndian.Uint32(bad[last+5:])-1)
			} else {
				bad[tc.at] ^= tc.xor
			}
			n, end := readThrough(t, bad, walcodec.ReadAny, recs, starts)
			if n != len(recs)-1 {
				t.Fatalf("%d records before the damage", n)
			}
			var torn *walcodec.TornTailError
			var ce *walcodec.CorruptError
			switch {
			case tc.want == nil:
				if !errors.As(end, &torn) || torn.Offset != last {
					t.Fatalf("%v, want a torn tail at %d", end, last)
				}
			case !errors.As(end, &ce) || ce.Offset != last || !errors.Is(end, tc.want):
				t.Fatalf("%v, want CorruptError at %d wrapping %v", end, last, tc.want)
			}
		})
	}
}

func TestSegmentReaderTrailingBytes(t *testing.T) {
	recs := v2Records(t)
	data, starts := testSegment(t, recs)
	end := int64(len(data))
	hdr := func(magic uint32, version uint8, length uint32) []byte {
		b := binary.BigEndian.AppendUint32(nil, magic)
		b = append(b, version)
		b = binary.BigEndian.AppendUint32(b, length)
		return binary.BigEndian.AppendUint32(b, 0)
	}
	next := mixedRecords(t)[3]
	nextEnc, err := walcodec.AppendRecord(nil, &next)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		tail     []byte
		mode     walcodec.Mode
		torn     *walcodec.TornTailError
		corrupt  error
		modeFail bool
	}{
		{name: "one magic byte", tail: []byte("W"), torn: &walcodec.TornTailError{Have: 1}},
		{name: "magic and version", tail: []byte("WAL2\x02"), torn: &walcodec.TornTailError{Have: 5}},
		{name: "v3 prefix", tail: []byte("WAL3\x03\x00"), torn: &walcodec.TornTailError{Have: 6}},
		{name: "12 header bytes", tail: nextEnc[:12], torn: &walcodec.TornTailError{Have: 12}},
		{name: "full header only", tail: nextEnc[:13], torn: &walcodec.TornTailError{Have: 13, Want: int64(len(nextEnc))}},
		{name: "header claims MaxBodySize", tail: hdr(walcodec.MagicV2, walcodec.V2, walcodec.MaxBodySize),
			torn: &walcodec.TornTailError{Have: 13, Want: walcodec.HeaderSize + walcodec.MaxBodySize}},
		{name: "garbage", tail: []byte("xyz"), corrupt: walcodec.ErrFraming},
		{name: "zeros", tail: make([]byte, 20), corrupt: walcodec.ErrFraming},
		{name: "zeros shorter than a header", tail: make([]byte, 4), corrupt: walcodec.ErrFraming},
		{name: "wrong version in prefix", tail: []byte("WAL2\x03"), corrupt: walcodec.ErrFraming},
		{name: "partial header with hostile length", tail: hdr(walcodec.MagicV2, walcodec.V2, math.MaxUint32)[:10], corrupt: walcodec.ErrFraming},
		{name: "header with hostile length", tail: hdr(walcodec.MagicV2, walcodec.V2, math.MaxUint32), corrupt: walcodec.ErrFraming},
		{name: "v3 prefix in v2 mode", tail: []byte("WAL3\x03"), mode: walcodec.ReadV2Only, modeFail: true},
		{name: "whole v3 record in v2 mode", tail: nextEnc, mode: walcodec.ReadV2Only, modeFail: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seg := append(bytes.Clone(data), tc.tail...)
			br := newBounded(t, seg)
			sr := walcodec.NewSegmentReader("seg.log", br, int64(len(seg)), tc.mode)
			var err error
			var pos int64
			for i := 0; i <= len(recs); i++ {
				if _, pos, err = sr.Next(); err != nil {
					if i != len(recs) {
						t.Fatalf("error after %d records: %v", i, err)
					}
					break
				}
				if pos != starts[i] {
					t.Fatalf("record %d at %d", i, pos)
				}
			}
			if pos != end {
				t.Fatalf("error reported at %d, want %d", pos, end)
			}
			if br.maxRead > len(seg) {
				t.Fatalf("read %d bytes at once from a %d-byte segment", br.maxRead, len(seg))
			}
			var torn *walcodec.TornTailError
			var ce *walcodec.CorruptError
			switch {
			case tc.torn != nil:
				want := *tc.torn
				want.Path, want.Offset = "seg.log", end
				if !errors.As(err, &torn) || *torn != want {
					t.Fatalf("%v, want torn tail %+v", err, want)
				}
			case tc.corrupt != nil:
				if !errors.As(err, &ce) || ce.Offset != end || !errors.Is(err, tc.corrupt) {
					t.Fatalf("%v, want CorruptError at %d wrapping %v", err, end, tc.corrupt)
				}
			case tc.modeFail:
				if !errors.Is(err, walcodec.ErrV3InV2Mode) || errors.As(err, &ce) || errors.As(err, &torn) {
					t.Fatalf("%v, want ErrV3InV2Mode only", err)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("seg.log at offset %d", end)) {
					t.Fatalf("message %q does not name path and offset", err.Error())
				}
			}
		})
	}
}

// A damaged length field that points past the end of the file must not be
// taken for a torn tail when valid records follow: that would truncate them.
func TestSegmentReaderHostileLengthBeforeValidRecords(t *testing.T) {
	recs := mixedRecords(t)
	data, starts := testSegment(t, recs)
	for _, length := range []uint32{walcodec.MaxBodySize, uint32(len(data)), uint32(len(data)) - walcodec.HeaderSize + 1} {
		bad := bytes.Clone(data)
		binary.BigEndian.PutUint32(bad[starts[1]+5:], length)
		br := newBounded(t, bad)
		sr := walcodec.NewSegmentReader("seg.log", br, int64(len(bad)), walcodec.ReadAny)
		if _, _, err := sr.Next(); err != nil {
			t.Fatal(err)
		}
		_, pos, err := sr.Next()
		var ce *walcodec.CorruptError
		if !errors.As(err, &ce) || pos != starts[1] || ce.Offset != starts[1] || !errors.Is(err, walcodec.ErrFraming) {
			t.Fatalf("length %d: %v at %d, want CorruptError at %d", length, err, pos, starts[1])
		}
		if want := fmt.Sprintf("valid record starts at offset %d", starts[2]); !strings.Contains(err.Error(), want) {
			t.Fatalf("message %q lacks %q", err.Error(), want)
		}
		if br.maxRead > len(bad) {
			t.Fatalf("read %d bytes at once", br.maxRead)
		}
	}
}

type failingReaderAt struct{ err error }

func (f failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, f.err }

func TestSegmentReaderIOErrors(t *testing.T) {
	diskErr := errors.New("disk on fire")
	sr := walcodec.NewSegmentReader("/data/wal/t/0/wal_0_00000001.log", failingReaderAt{diskErr}, 100, walcodec.ReadAny)
	_, _, err := sr.Next()
	if !errors.Is(err, diskErr) || !strings.Contains(err.Error(), "wal_0_00000001.log") {
		t.Fatalf("%v, want the I/O error naming the path", err)
	}
	var ce *walcodec.CorruptError
	if errors.As(err, &ce) {
		t.Fatalf("an I/O error is not corruption: %v", err)
	}
	// A size larger than the data is an unexpected EOF, not a torn tail.
	data, _ := testSegment(t, v2Records(t))
	sr = walcodec.NewSegmentReader("seg.log", bytes.NewReader(data), int64(len(data))+10, walcodec.ReadAny)
	if _, _, err := sr.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("%v, want io.ErrUnexpectedEOF", err)
	}
}

// Records bigger than the read-ahead window and segments spanning many
// windows read back intact, and batches handed out earlier stay valid.
func TestSegmentReaderLargeRecordsAndAliasing(t *testing.T) {
	var recs []walcodec.Record
	var want [][]byte
	off := int64(0)
	for i := 0; i < 40; i++ {
		n := 64
		if i == 20 {
			n = 3000 // a ~3 MiB batch, larger than the read-ahead
		}
		kb := kBatch{BaseOffset: off, FirstTimestamp: goldenTS, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
		for j := 0; j < n; j++ {
			kb.Records = append(kb.Records, kRecord{Value: bytes.Repeat([]byte{byte(i), byte(j)}, 512)})
		}
		b := kb.build(t)
		want = append(want, bytes.Clone(b))
		recs = append(recs, walcodec.Record{Version: walcodec.V3, Type: walcodec.RecordData, Timestamp: goldenTS, Canonical: []walcodec.CanonicalRecord{canonical(b)}})
		off += int64(n)
	}
	data, starts := testSegment(t, recs)
	br := newBounded(t, data)
	sr := walcodec.NewSegmentReader("big.log", br, int64(len(data)), walcodec.ReadAny)
	var got []walcodec.Record
	for {
		rec, pos, err := sr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if pos != starts[len(got)] {
			t.Fatalf("record %d at %d, want %d", len(got), pos, starts[len(got)])
		}
		got = append(got, rec)
	}
	if len(got) != len(recs) {
		t.Fatalf("%d records, want %d", len(got), len(recs))
	}
	for i, rec := range got {
		if !bytes.Equal(rec.Canonical[0].Batch, want[i]) {
			t.Fatalf("batch %d changed after later reads", i)
		}
	}
	if limit := max(1<<20, 3100*1024+64); br.maxRead > limit {
		t.Fatalf("largest read %d bytes, want at most %d", br.maxRead, limit)
	}
}
