package walcodec_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/chronik-stream/chronik/walcodec"
)

func TestWriterAppend(t *testing.T) {
	recs := mixedRecords(t)
	want, _ := testSegment(t, recs)
	var buf bytes.Buffer
	w := walcodec.NewWriter(&buf)
	total := 0
	for i := range recs {
		n, err := w.Append(&recs[i])
		if err != nil {
			t.Fatal(err)
		}
		if n != walcodec.EncodedSize(&recs[i]) {
			t.Fatalf("record %d: wrote %d bytes, EncodedSize %d", i, n, walcodec.EncodedSize(&recs[i]))
		}
		total += n
	}
	if !bytes.Equal(buf.Bytes(), want) || w.Written() != int64(total) || total != len(want) {
		t.Fatalf("wrote %d bytes (Written %d), want the %d-byte encoding", buf.Len(), w.Written(), len(want))
	}
	// BatchPos was set by Append.
	for _, c := range recs[1].Canonical {
		if c.BatchPos == 0 {
			t.Fatal("Append did not set BatchPos")
		}
	}
}

func TestWriterRejectsInvalidRecordAndStaysUsable(t *testing.T) {
	var buf bytes.Buffer
	w := walcodec.NewWriter(&buf)
	bad := walcodec.Record{Version: walcodec.V2, Raft: &walcodec.RaftMeta{Term: 1}}
	if _, err := w.Append(&bad); !errors.Is(err, walcodec.ErrFraming) {
		t.Fatalf("%v, want ErrFraming", err)
	}
	if buf.Len() != 0 || w.Written() != 0 {
		t.Fatal("an invalid record wrote bytes")
	}
	good := v2Records(t)[0]
	if _, err := w.Append(&good); err != nil {
		t.Fatalf("writer unusable after an encode error: %v", err)
	}
}

// shortWriter accepts limit bytes, then fails.
type shortWriter struct {
	buf   bytes.Buffer
	limit int
}

func (s *shortWriter) Write(p []byte) (int, error) {
	n := min(len(p), s.limit-s.buf.Len())
	s.buf.Write(p[:n])
	if n < len(p) {
		return n, errors.New("no space left on device")
	}
	return n, nil
}

type lyingWriter struct{}

func (lyingWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }

func TestWriterWriteErrorIsSticky(t *testing.T) {
	recs := v2Records(t)
	first := walcodec.EncodedSize(&recs[0])
	sw := &shortWriter{limit: first + 5}
	w := walcodec.NewWriter(sw)
	if _, err := w.Append(&recs[0]); err != nil {
		t.Fatal(err)
	}
	n, err := w.Append(&recs[1])
	if err == nil || n != 5 || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("n=%d err=%v, want the write error after 5 bytes", n, err)
	}
	if !strings.Contains(err.Error(), "offset") {
		t.Fatalf("error %q should name the offset", err)
	}
	if n2, err2 := w.Append(&recs[0]); n2 != 0 || err2 == nil || err2.Error() != err.Error() {
		t.Fatalf("after a failed write: n=%d err=%v, want the same error", n2, err2)
	}
	if w.Written() != int64(first+5) {
		t.Fatalf("Written %d, want %d", w.Written(), first+5)
	}
	// A Writer whose target reports a short write without an error fails too.
	w = walcodec.NewWriter(lyingWriter{})
	if _, err := w.Append(&recs[0]); !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("%v, want io.ErrShortWrite", err)
	}
}

func TestWriterLargeRecord(t *testing.T) {
	big := walcodec.Record{Version: walcodec.V3, Type: walcodec.RecordData, Canonical: []walcodec.CanonicalRecord{{Batch: make([]byte, 5<<20)}}}
	small := v2Records(t)[0]
	var buf bytes.Buffer
	w := walcodec.NewWriter(&buf)
	for _, r := range []*walcodec.Record{&big, &small, &big} {
		if _, err := w.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	want, _ := testSegment(t, []walcodec.Record{big, small, big})
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatal("output differs")
	}
}
