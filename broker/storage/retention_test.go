package storage

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-stream/chronik/walcodec"
)

// segmentFiles lists the segment files in dir.
func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "wal_0_*.log"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fill appends n batches of 2 records; with SegmentBytes 1024 each of these
// ~700-byte appends gets a segment of its own.
func fill(t *testing.T, l *Log, n int, ts int64) {
	t.Helper()
	for i := 0; i < n; i++ {
		mustAppend(t, l, makeBatch(t, spec{records: 2, valueSize: 300, ts: ts}))
	}
}

func TestRetentionBytes(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 1024
	l := openTest(t, dir, cfg)
	fill(t, l, 10, 0)
	st := l.Stats()
	if st.Segments != 10 {
		t.Fatalf("%d segments, want 10", st.Segments)
	}
	per := st.Bytes / 10
	cfg.RetentionBytes = 3*per + per/2
	l.SetConfig(cfg)
	if err := l.EnforceRetention(time.Now()); err != nil {
		t.Fatal(err)
	}
	st = l.Stats()
	if st.Segments != 3 || st.Bytes > cfg.RetentionBytes {
		t.Fatalf("after retention: %+v, want 3 segments within %d bytes", st, cfg.RetentionBytes)
	}
	if got := len(segmentFiles(t, dir)); got != 3 {
		t.Fatalf("%d segment files on disk, want 3", got)
	}
	if ls := l.LogStartOffset(); ls != 14 {
		t.Fatalf("log start %d, want 14", ls)
	}
	if _, err := l.Read(13, 100); kerrOf(err) != kerr.OffsetOutOfRange {
		t.Fatalf("read below the new start: %v", err)
	}
	if _, err := l.Read(14, 100); err != nil {
		t.Fatal(err)
	}
	// The active segment is never deleted, even when it alone is too big.
	cfg.RetentionBytes = 0
	l.SetConfig(cfg)
	if err := l.EnforceRetention(time.Now()); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st.Segments != 1 || l.LogStartOffset() != 18 {
		t.Fatalf("after retention.bytes=0: %+v, start %d", st, l.LogStartOffset())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openTest(t, dir, cfg)
	if l2.LogStartOffset() != 18 || l2.HighWatermark() != 20 {
		t.Fatalf("after reopen: start %d, HWM %d", l2.LogStartOffset(), l2.HighWatermark())
	}
}

func TestRetentionTime(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 1024
	cfg.RetentionMs = time.Hour.Milliseconds()
	l := openTest(t, dir, cfg)
	now := time.Now()
	old := now.Add(-2 * time.Hour).UnixMilli()
	fill(t, l, 3, old)
	fill(t, l, 2, now.UnixMilli())
	fill(t, l, 1, old) // an old timestamp after new ones does not make its segment deletable out of order
	fill(t, l, 1, now.UnixMilli())
	if err := l.EnforceRetention(now); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st.Segments != 4 || l.LogStartOffset() != 6 {
		t.Fatalf("after time retention: %+v, start %d; want 4 segments from offset 6", st, l.LogStartOffset())
	}
	// Much later everything closed goes, the active segment stays.
	if err := l.EnforceRetention(now.Add(3 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st.Segments != 1 || l.LogStartOffset() != 12 {
		t.Fatalf("later: %+v, start %d", st, l.LogStartOffset())
	}
	// Unlimited retention keeps everything.
	cfg.RetentionMs = -1
	l.SetConfig(cfg)
	fill(t, l, 2, old)
	if err := l.EnforceRetention(now.Add(100 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st.Segments != 3 {
		t.Fatalf("unlimited retention deleted segments: %+v", st)
	}
}

func TestDeleteRecordsPersisted(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 1024
	l := openTest(t, dir, cfg)
	fill(t, l, 5, 0) // offsets 0..9, one segment per batch
	if _, err := l.DeleteRecords(11); kerrOf(err) != kerr.OffsetOutOfRange {
		t.Fatalf("DeleteRecords above HWM: %v", err)
	}
	start, err := l.DeleteRecords(5)
	if err != nil || start != 5 {
		t.Fatalf("DeleteRecords(5) = %d, %v", start, err)
	}
	if got := len(segmentFiles(t, dir)); got != 3 {
		t.Fatalf("%d segment files, want the two below offset 5 deleted", got)
	}
	if _, err := l.Read(4, 100); kerrOf(err) != kerr.OffsetOutOfRange {
		t.Fatalf("Read(4): %v", err)
	}
	if start, err := l.DeleteRecords(3); err != nil || start != 5 {
		t.Fatalf("DeleteRecords below the start = %d, %v", start, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openTest(t, dir, cfg)
	if ls := l2.LogStartOffset(); ls != 5 {
		t.Fatalf("log start after reopen %d, want 5", ls)
	}
	if _, err := l2.Read(4, 100); kerrOf(err) != kerr.OffsetOutOfRange {
		t.Fatalf("Read(4) after reopen: %v", err)
	}
	start, err = l2.DeleteRecords(-1)
	if err != nil || start != 10 {
		t.Fatalf("DeleteRecords(-1) = %d, %v; want the HWM 10", start, err)
	}
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
	// Everything deleted: the next offset survives through the checkpoint
	// even once retention removed the last batch.
	l3 := openTest(t, dir, cfg)
	if err := l3.RollIfOld(time.Now().Add(30 * 24 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := l3.EnforceRetention(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := l3.Close(); err != nil {
		t.Fatal(err)
	}
	if got := segmentFiles(t, dir); len(got) != 1 || filepath.Base(got[0]) != walcodec.SegmentName(0, 6) {
		t.Fatalf("segments %v, want only the empty active one", got)
	}
	l4 := openTest(t, dir, cfg)
	if l4.HighWatermark() != 10 || l4.LogStartOffset() != 10 {
		t.Fatalf("empty log after reopen: HWM %d start %d, want 10 and 10", l4.HighWatermark(), l4.LogStartOffset())
	}
	if res := mustAppend(t, l4, makeBatch(t, spec{})); res.BaseOffset != 10 {
		t.Fatalf("append at %d, want 10", res.BaseOffset)
	}
	if _, err := os.Stat(filepath.Join(dir, checkpointName)); err != nil {
		t.Fatal(err)
	}
}
