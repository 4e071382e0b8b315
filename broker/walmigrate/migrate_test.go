package walmigrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/chronik-stream/chronik/walcodec"
)

// v2Root builds a V2 WAL root under a temp dir and returns it with its state.
func v2Root(t *testing.T) (string, map[string]logState) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "wal")
	buildWAL(t, root, walcodec.V2)
	return root, readWAL(t, root)
}

func TestMigrateOffline(t *testing.T) {
	in, want := v2Root(t)
	before := hashTree(t, in)
	segs := segmentsOf(t, in)
	if len(segs) < 8 {
		t.Fatalf("fixture has only %d segments", len(segs))
	}
	out := filepath.Join(t.TempDir(), "wal-v3")
	var lines bytes.Buffer
	stats, err := Migrate(context.Background(), Options{Input: in, Output: out, Workers: 2, Out: &lines})
	if err != nil {
		t.Fatalf("Migrate: %v\n%s", err, lines.String())
	}
	text := lines.String()
	for _, want := range []string{
		fmt.Sprintf("[INFO] Found %d V2 WAL segments\n", len(segs)),
		"[INFO] Converting with 2 workers\n",
		fmt.Sprintf("[INFO] Progress: %d/%d segments (100.0%%)\n", len(segs), len(segs)),
		fmt.Sprintf("[INFO] Migration complete: %d segments, 0 errors\n", len(segs)),
		"[INFO] Output: " + out + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if stats.Segments != len(segs) || stats.V2Segments != len(segs) || stats.Errors != 0 || stats.Records == 0 {
		t.Errorf("stats %+v", stats)
	}
	if after := hashTree(t, in); !reflect.DeepEqual(before, after) {
		t.Fatalf("the input changed")
	}
	// Same layout, every segment V3 with raft_meta None, checkpoint copied.
	outSegs := segmentsOf(t, out)
	if len(outSegs) != len(segs) {
		t.Fatalf("%d output segments, want %d", len(outSegs), len(segs))
	}
	for i, p := range outSegs {
		rel, _ := filepath.Rel(out, p)
		inRel, _ := filepath.Rel(in, segs[i])
		if rel != inRel {
			t.Fatalf("output segment %s, input %s", rel, inRel)
		}
		sum, err := walcodec.VerifySegment(p, walcodec.ReadAny)
		if err != nil || sum.Records == 0 || sum.V3Records != sum.Records || sum.RaftRecords != 0 {
			t.Fatalf("%s: %+v %v", p, sum, err)
		}
		if m := firstMagic(t, p); m != "WAL3" {
			t.Fatalf("%s starts with %q", p, m)
		}
	}
	if b, err := os.ReadFile(filepath.Join(out, "orders/1/log-start-offset")); err != nil || strings.TrimSpace(string(b)) != "3" {
		t.Fatalf("checkpoint not copied: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(out, StateFileName)); !os.IsNotExist(err) {
		t.Fatalf("resume marker left behind: %v", err)
	}
	if got := readWAL(t, out); !reflect.DeepEqual(got, want) {
		t.Fatalf("migrated logs differ from the input logs")
	}
}

func TestMigrateProgressLines(t *testing.T) {
	in := filepath.Join(t.TempDir(), "wal")
	// 25 one-record segments in one partition.
	dir := filepath.Join(in, "t", "0")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 25; i++ {
		b := testBatch(t, 1, "x", -1, 0)
		binaryPutBase(b, int64(i))
		rec := walcodec.Record{Version: walcodec.V2, Type: walcodec.RecordData, Timestamp: 1, Canonical: []walcodec.CanonicalRecord{
			{BaseOffset: int64(i), MaxTimestamp: 1, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, Batch: b}}}
		enc, err := walcodec.AppendRecord(nil, &rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, walcodec.SegmentName(0, uint64(i+1))), enc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var lines bytes.Buffer
	var calls []int
	_, err := Migrate(context.Background(), Options{Input: in, Output: t.TempDir(), Workers: 3, Out: &lines,
		Progress: func(p Progress) { calls = append(calls, p.Done) }})
	if err != nil {
		t.Fatal(err)
	}
	var progress []string
	for _, l := range strings.Split(lines.String(), "\n") {
		if strings.HasPrefix(l, "[INFO] Progress: ") {
			progress = append(progress, l)
		}
	}
	want := []string{}
	for _, n := range []int{3, 5, 8, 10, 13, 15, 18, 20, 23, 25} {
		want = append(want, fmt.Sprintf("[INFO] Progress: %d/25 segments (%.1f%%)", n, float64(n)*4))
	}
	if !reflect.DeepEqual(progress, want) {
		t.Fatalf("progress lines:\n%s\nwant:\n%s", strings.Join(progress, "\n"), strings.Join(want, "\n"))
	}
	if len(calls) != 25 || calls[24] != 25 {
		t.Fatalf("progress callbacks %v", calls)
	}
}

func binaryPutBase(b []byte, base int64) {
	for i := 0; i < 8; i++ {
		b[i] = byte(base >> (56 - 8*i))
	}
}

func TestMigrateRefusals(t *testing.T) {
	in, _ := v2Root(t)
	tests := []struct {
		name   string
		output func() string
		want   string
	}{
		{"non-empty output", func() string {
			d := t.TempDir()
			_ = os.WriteFile(filepath.Join(d, "x"), nil, 0o644)
			return d
		}, "is not empty"},
		{"output inside input", func() string { return filepath.Join(in, "v3") }, "must not contain each other"},
		{"input inside output", func() string { return filepath.Dir(in) }, "must not contain each other"},
		{"marker of another input", func() string {
			d := t.TempDir()
			_ = os.WriteFile(filepath.Join(d, StateFileName), []byte(`{"format":"chronik-migrate-wal/1","input":"/elsewhere","segments":1,"files":0}`+"\n"), 0o644)
			return d
		}, "belongs to a migration of /elsewhere"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Migrate(context.Background(), Options{Input: in, Output: tc.output()})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestMigrateResume kills a migration after some segments (ctx cancelled
// from the progress callback), leaves a stale temporary file, and reruns:
// the result equals an uninterrupted migration byte for byte.
func TestMigrateResume(t *testing.T) {
	in, _ := v2Root(t)
	ref := filepath.Join(t.TempDir(), "ref")
	if _, err := Migrate(context.Background(), Options{Input: in, Output: ref, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Migrate(ctx, Options{Input: in, Output: out, Workers: 1, Progress: func(p Progress) {
		if p.Done == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, StateFileName)); err != nil {
		t.Fatalf("no resume marker after the interruption: %v", err)
	}
	if n := len(segmentsOf(t, out)); n < 3 || n >= len(segmentsOf(t, in)) {
		t.Fatalf("%d segments written before the interruption", n)
	}
	stale := filepath.Join(out, "orders", "0", walcodec.SegmentName(0, 99)+tmpSuffix)
	if err := os.WriteFile(stale, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	var lines bytes.Buffer
	stats, err := Migrate(context.Background(), Options{Input: in, Output: out, Workers: 2, Out: &lines})
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if !strings.Contains(lines.String(), "[INFO] Resuming: 3 of ") {
		t.Fatalf("rerun output:\n%s", lines.String())
	}
	if stats.Segments != len(segmentsOf(t, in)) {
		t.Fatalf("rerun counted %d segments", stats.Segments)
	}
	if got, want := hashTree(t, out), hashTree(t, ref); !reflect.DeepEqual(got, want) {
		t.Fatalf("resumed output differs from an uninterrupted migration:\n%v\n%v", got, want)
	}
}

// corruptSegment flips a byte inside the second record of a non-last segment
// and returns the segment, that record's byte offset, and the last Kafka
// offset of the records before it.
func corruptSegment(t *testing.T, root string) (path string, recOffset int64, lastGood int64) {
	t.Helper()
	segs := segmentsOf(t, filepath.Join(root, "orders", "0"))
	path = segs[0]
	starts := recordStarts(t, path)
	if len(starts) < 2 || len(segs) < 2 {
		t.Fatalf("%s has %d records", path, len(starts))
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	sr := walcodec.NewSegmentReader(path, f, st.Size(), walcodec.ReadAny)
	rec, _, err := sr.Next()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	lastGood = rec.Canonical[len(rec.Canonical)-1].LastOffset()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[starts[1]+walcodec.HeaderSize+20] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, starts[1], lastGood
}

func TestMigrateCorruptSegment(t *testing.T) {
	in, _ := v2Root(t)
	path, recOff, lastGood := corruptSegment(t, in)
	out := filepath.Join(t.TempDir(), "out")
	_, err := Migrate(context.Background(), Options{Input: in, Output: out, Workers: 2})
	var de *DamageError
	if !errors.As(err, &de) || de.Reason() != fmt.Sprintf("InvalidChecksum at offset %d", recOff) || de.Path != path ||
		!strings.HasPrefix(err.Error(), fmt.Sprintf("InvalidChecksum at offset %d in %s", recOff, path)) {
		t.Fatalf("error %v, want InvalidChecksum at offset %d in %s", err, recOff, path)
	}
	rel, _ := filepath.Rel(in, path)
	if _, err := os.Stat(filepath.Join(out, rel)); !os.IsNotExist(err) {
		t.Fatalf("the damaged segment was written: %v", err)
	}

	// --skip-errors resumes the failed run and keeps the good prefix.
	var lines bytes.Buffer
	stats, err := Migrate(context.Background(), Options{Input: in, Output: out, Workers: 2, SkipErrors: true, Out: &lines})
	if err != nil {
		t.Fatalf("skip-errors: %v", err)
	}
	text := lines.String()
	wantWarn := fmt.Sprintf("[WARN] Skipped damaged data in %s: InvalidChecksum at offset %d; kept the first %d bytes (last good offset kept: %d)", path, recOff, recOff, lastGood)
	if !strings.Contains(text, wantWarn) || !regexp.MustCompile(`\[INFO\] Migration complete: \d+ segments, 1 errors\n`).MatchString(text) {
		t.Fatalf("skip-errors output lacks %q or the error count:\n%s", wantWarn, text)
	}
	if stats.Errors != 1 || len(stats.Damaged) != 1 || stats.Damaged[0].LastOffset != lastGood || stats.Damaged[0].Offset != recOff {
		t.Fatalf("stats %+v", stats)
	}
	sum, err := walcodec.VerifySegment(filepath.Join(out, rel), walcodec.ReadAny)
	if err != nil || sum.Records != 1 || sum.LastOffset != lastGood {
		t.Fatalf("kept prefix: %+v %v", sum, err)
	}
}

func TestMigrateTornTail(t *testing.T) {
	t.Run("last segment: truncated with a warning", func(t *testing.T) {
		in, want := v2Root(t)
		segs := segmentsOf(t, filepath.Join(in, "orders", "0"))
		last := segs[len(segs)-1]
		f, err := os.OpenFile(last, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.Write([]byte("WAL2\x02\x00\x00\x10\x00partial"))
		f.Close()
		out := filepath.Join(t.TempDir(), "out")
		var lines bytes.Buffer
		stats, err := Migrate(context.Background(), Options{Input: in, Output: out, Out: &lines})
		if err != nil {
			t.Fatal(err)
		}
		if len(stats.TornTails) != 1 || stats.Errors != 0 || !strings.Contains(lines.String(), "[WARN] Torn tail in "+last) ||
			!strings.Contains(lines.String(), ", 0 errors\n") {
			t.Fatalf("stats %+v\n%s", stats, lines.String())
		}
		if got := readWAL(t, out); !reflect.DeepEqual(got, want) {
			t.Fatalf("logs differ after dropping the torn tail")
		}
	})
	t.Run("earlier segment: damage", func(t *testing.T) {
		in, _ := v2Root(t)
		first := segmentsOf(t, filepath.Join(in, "orders", "0"))[0]
		b, _ := os.ReadFile(first)
		size := int64(len(b))
		if err := os.WriteFile(first, b[:len(b)-5], 0o644); err != nil {
			t.Fatal(err)
		}
		starts := recordStarts2(t, first, size)
		_, err := Migrate(context.Background(), Options{Input: in, Output: filepath.Join(t.TempDir(), "out")})
		var de *DamageError
		if !errors.As(err, &de) || de.Reason() != fmt.Sprintf("torn record at offset %d", starts) {
			t.Fatalf("error %v", err)
		}
	})
}

// recordStarts2 is the offset of the last (now torn) record of a segment
// that was size bytes long.
func recordStarts2(t *testing.T, path string, size int64) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	sr := walcodec.NewSegmentReader(path, f, st.Size(), walcodec.ReadAny)
	for {
		_, pos, err := sr.Next()
		if err != nil {
			return pos
		}
	}
}

func TestMigrateInPlace(t *testing.T) {
	root, want := v2Root(t)
	segs := segmentsOf(t, root)
	h := &captureHandler{}
	stats, err := MigrateInPlace(context.Background(), root, slog.New(h))
	if err != nil {
		t.Fatal(err)
	}
	msgs := h.messages()
	wantMsgs := []string{
		"INFO WAL migration started",
		fmt.Sprintf("INFO Found %d V2 WAL segments", len(segs)),
		fmt.Sprintf("INFO Converting segment 0/%d: %s", len(segs), filepath.Join(root, "__meta", "wal_0_00000001.log")),
		fmt.Sprintf("INFO Converted %d records (V2 → V3)", stats.Records),
	}
	for i, w := range wantMsgs {
		if i >= len(msgs) || (i < 3 && msgs[i] != w) {
			t.Fatalf("log messages %q: want %q at %d", msgs, w, i)
		}
	}
	if !contains(msgs, wantMsgs[3]) || !regexp.MustCompile(`^INFO WAL migration complete \(took \d+\.\ds\)$`).MatchString(msgs[len(msgs)-1]) {
		t.Fatalf("log messages %q", msgs)
	}
	if stats.Segments != len(segs) || stats.Records == 0 {
		t.Fatalf("stats %+v", stats)
	}
	for _, p := range segmentsOf(t, root) {
		if m := firstMagic(t, p); m != "WAL3" {
			t.Fatalf("%s starts with %q", p, m)
		}
	}
	if got := readWAL(t, root); !reflect.DeepEqual(got, want) {
		t.Fatalf("logs differ after the in-place migration")
	}
	// A second run finds nothing to do and changes nothing.
	before := hashTree(t, root)
	h2 := &captureHandler{}
	if _, err := MigrateInPlace(context.Background(), root, slog.New(h2)); err != nil {
		t.Fatal(err)
	}
	if !contains(h2.messages(), "INFO Found 0 V2 WAL segments") || !reflect.DeepEqual(hashTree(t, root), before) {
		t.Fatalf("second run: %q", h2.messages())
	}
}

// TestMigrateInPlaceResume interrupts the in-place conversion after two
// segments and leaves a stale temporary file; the rerun converts the rest.
func TestMigrateInPlaceResume(t *testing.T) {
	root, want := v2Root(t)
	ref := filepath.Join(t.TempDir(), "ref")
	copyTree(t, root, ref)
	if _, err := MigrateInPlace(context.Background(), ref, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	seen := 0
	h := &captureHandler{onRecord: func(msg string) {
		if strings.HasPrefix(msg, "Converting segment ") {
			if seen++; seen == 3 {
				cancel()
			}
		}
	}}
	if _, err := MigrateInPlace(ctx, root, slog.New(h)); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	v2 := 0
	for _, p := range segmentsOf(t, root) {
		if firstMagic(t, p) == "WAL2" {
			v2++
		}
	}
	if v2 == 0 || v2 == len(segmentsOf(t, root)) {
		t.Fatalf("%d V2 segments left after the interruption", v2)
	}
	stale := segmentsOf(t, root)[len(segmentsOf(t, root))-1] + tmpSuffix
	if err := os.WriteFile(stale, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := MigrateInPlace(context.Background(), root, nil); err != nil {
		t.Fatal(err)
	}
	if got, wantHash := hashTree(t, root), hashTree(t, ref); !reflect.DeepEqual(got, wantHash) {
		t.Fatalf("resumed in-place migration differs from an uninterrupted one")
	}
	if got := readWAL(t, root); !reflect.DeepEqual(got, want) {
		t.Fatalf("logs differ")
	}
}

func TestMigrateInPlaceCorrupt(t *testing.T) {
	root, _ := v2Root(t)
	path, recOff, _ := corruptSegment(t, root)
	before := hashTree(t, root)
	h := &captureHandler{}
	_, err := MigrateInPlace(context.Background(), root, slog.New(h))
	var de *DamageError
	if !errors.As(err, &de) || de.Path != path || de.Offset != recOff || !strings.Contains(err.Error(), fmt.Sprintf("InvalidChecksum at offset %d in %s", recOff, path)) {
		t.Fatalf("error %v", err)
	}
	if !contains(h.messages(), "ERROR WAL migration failed") {
		t.Fatalf("messages %q", h.messages())
	}
	rel, _ := filepath.Rel(root, path)
	if hashTree(t, root)[filepath.ToSlash(rel)] != before[filepath.ToSlash(rel)] {
		t.Fatalf("the damaged segment was modified")
	}
}

func TestMigrateOnStart(t *testing.T) {
	root, want := v2Root(t)
	before := hashTree(t, root)
	if err := MigrateOnStart(context.Background(), root, walcodec.V2, nil); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(hashTree(t, root), before) {
		t.Fatalf("wal_format 2 converted something")
	}
	if err := MigrateOnStart(context.Background(), filepath.Join(root, "missing"), walcodec.V3, nil); err != nil {
		t.Fatalf("missing dir: %v", err)
	}
	if err := MigrateOnStart(context.Background(), root, walcodec.V3, nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range segmentsOf(t, root) {
		if firstMagic(t, p) != "WAL3" {
			t.Fatalf("%s not converted", p)
		}
	}
	if got := readWAL(t, root); !reflect.DeepEqual(got, want) {
		t.Fatalf("logs differ")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestSymlinkedDirectories: an offline migration refuses a symlink in its
// input (the copy would miss what it points to); in place it is skipped and
// what it points to stays V2, which the broker still reads.
func TestSymlinkedDirectories(t *testing.T) {
	root, _ := v2Root(t)
	elsewhere := filepath.Join(t.TempDir(), "events-0")
	if err := os.Rename(filepath.Join(root, "events", "0"), elsewhere); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(root, "events", "0")); err != nil {
		t.Fatal(err)
	}
	_, err := Migrate(context.Background(), Options{Input: root, Output: filepath.Join(t.TempDir(), "out")})
	if err == nil || !strings.Contains(err.Error(), "is not a regular file or directory") {
		t.Fatalf("offline migration over a symlink: %v", err)
	}
	if _, err := MigrateInPlace(context.Background(), root, nil); err != nil {
		t.Fatalf("in-place migration over a symlink: %v", err)
	}
	if m := firstMagic(t, segmentsOf(t, elsewhere)[0]); m != "WAL2" {
		t.Fatalf("the symlinked partition was converted: %q", m)
	}
	if m := firstMagic(t, segmentsOf(t, filepath.Join(root, "orders"))[0]); m != "WAL3" {
		t.Fatalf("orders not converted: %q", m)
	}
}
