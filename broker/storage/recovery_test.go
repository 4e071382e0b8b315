package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chronik-stream/chronik/walcodec"
)

// writeThree writes three appends as three WAL records and returns the
// segment path and the end position of each record.
func writeThree(t *testing.T, dir string) (path string, ends []int64) {
	t.Helper()
	l := openTest(t, dir, DefaultLogConfig())
	for i := 0; i < 3; i++ {
		mustAppend(t, l, makeBatch(t, spec{records: 2, valueSize: 100, tag: fmt.Sprint(i)}))
		ends = append(ends, l.Stats().Bytes)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, walcodec.SegmentName(0, 1)), ends
}

func TestTornTailTruncated(t *testing.T) {
	_, ends := writeThree(t, t.TempDir())
	lastLen := ends[2] - ends[1]
	for _, cut := range []int64{1, 4, 9, 12, 13, 14, 40, 80, lastLen - 1} {
		t.Run(fmt.Sprintf("cut %d", cut), func(t *testing.T) {
			dir := t.TempDir()
			path, ends := writeThree(t, dir)
			if err := os.Truncate(path, ends[2]-cut); err != nil {
				t.Fatal(err)
			}
			lg, logs := newCapture()
			l := openTest(t, dir, DefaultLogConfig(), withLogger(lg))
			if hw := l.HighWatermark(); hw != 4 {
				t.Fatalf("HWM %d after losing the last record, want 4", hw)
			}
			fi, err := os.Stat(path)
			if err != nil || fi.Size() != ends[1] {
				t.Fatalf("segment is %d bytes, want it truncated to %d (%v)", fi.Size(), ends[1], err)
			}
			out := logs.String()
			for _, want := range []string{"level=WARN", "truncated torn tail", path, fmt.Sprintf("offset=%d", ends[1]), fmt.Sprintf("bytes_dropped=%d", lastLen-cut)} {
				if !strings.Contains(out, want) {
					t.Fatalf("log %q lacks %q", out, want)
				}
			}
			if res := mustAppend(t, l, makeBatch(t, spec{})); res.BaseOffset != 4 {
				t.Fatalf("append after truncation at %d, want 4", res.BaseOffset)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l2 := openTest(t, dir, DefaultLogConfig())
			if hw := l2.HighWatermark(); hw != 5 {
				t.Fatalf("HWM after second reopen %d, want 5", hw)
			}
		})
	}
}

func TestZeroFilledTailTruncated(t *testing.T) {
	dir := t.TempDir()
	path, ends := writeThree(t, dir)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	lg, logs := newCapture()
	l := openTest(t, dir, DefaultLogConfig(), withLogger(lg))
	if hw := l.HighWatermark(); hw != 6 {
		t.Fatalf("HWM %d, want 6", hw)
	}
	if fi, _ := os.Stat(path); fi.Size() != ends[2] {
		t.Fatalf("size %d, want %d", fi.Size(), ends[2])
	}
	if !strings.Contains(logs.String(), "truncated torn tail") {
		t.Fatalf("no truncation logged: %s", logs.String())
	}
}

func TestCorruptionFailsOpen(t *testing.T) {
	// Three segments of two records each.
	build := func(t *testing.T) (dir string, segs []string, recStarts [][]int64) {
		dir = t.TempDir()
		cfg := DefaultLogConfig()
		l := openTest(t, dir, cfg)
		for s := 0; s < 3; s++ {
			var starts []int64
			for r := 0; r < 2; r++ {
				starts = append(starts, l.active.size)
				mustAppend(t, l, makeBatch(t, spec{records: 2, valueSize: 200}))
			}
			recStarts = append(recStarts, starts)
			segs = append(segs, l.active.path)
			if s < 2 {
				if err := l.control(reqRoll); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		return dir, segs, recStarts
	}
	flip := func(t *testing.T, path string, at int64) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := []byte{0}
		if _, err := f.ReadAt(b, at); err != nil {
			t.Fatal(err)
		}
		b[0] ^= 0x40
		if _, err := f.WriteAt(b, at); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		seg    int
		rec    int
		within int64 // byte inside the record to flip
		want   string
	}{
		{"checksum in a middle segment", 1, 1, 100, "InvalidChecksum at offset"},
		{"magic in a middle segment", 1, 0, 0, "bad framing at offset"},
		{"checksum in the first record of the last segment", 2, 0, 150, "InvalidChecksum at offset"},
		{"checksum in the final record of the last segment", 2, 1, 150, "InvalidChecksum at offset"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, segs, starts := build(t)
			at := starts[tc.seg][tc.rec]
			flip(t, segs[tc.seg], at+tc.within)
			_, err := OpenLog(dir, "t", 0, DefaultLogConfig(), nil, nil)
			if err == nil {
				t.Fatal("OpenLog succeeded on a corrupt segment")
			}
			msg := err.Error()
			if !strings.Contains(msg, segs[tc.seg]) || !strings.Contains(msg, fmt.Sprintf("%s %d", tc.want, at)) {
				t.Fatalf("error %q should name %s and %q %d", msg, segs[tc.seg], tc.want, at)
			}
		})
	}
	t.Run("torn tail in a closed segment", func(t *testing.T) {
		dir, segs, _ := build(t)
		fi, _ := os.Stat(segs[0])
		if err := os.Truncate(segs[0], fi.Size()-5); err != nil {
			t.Fatal(err)
		}
		_, err := OpenLog(dir, "t", 0, DefaultLogConfig(), nil, nil)
		if err == nil || !strings.Contains(err.Error(), segs[0]) {
			t.Fatalf("error %v should name %s", err, segs[0])
		}
	})
}

func TestRecoveryRebuildsProducerStateAndRaftIndex(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, DefaultLogConfig())
	for i := 0; i < 3; i++ {
		b := makeBatch(t, spec{records: 2, idem: true, pid: 42, epoch: 3, seq: int32(2 * i)})
		meta := &walcodec.RaftMeta{Term: 2, Index: uint64(100 + i), LeaderID: 1}
		if _, err := l.Append(context.Background(), b, AppendOptions{Raft: meta}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openTest(t, dir, DefaultLogConfig())
	if got := l2.LastRaftIndex(); got != 102 {
		t.Fatalf("LastRaftIndex %d, want 102", got)
	}
	// A retry of the second batch is a duplicate with its original offsets.
	res, err := l2.Append(context.Background(), makeBatch(t, spec{records: 2, idem: true, pid: 42, epoch: 3, seq: 2}), AppendOptions{})
	if err != nil || !res.Duplicate || res.BaseOffset != 2 || res.LastOffset != 3 {
		t.Fatalf("retry after reopen: %+v, %v; want duplicate at 2..3", res, err)
	}
	// The next sequence continues; a gap is refused.
	if _, err := l2.Append(context.Background(), makeBatch(t, spec{idem: true, pid: 42, epoch: 3, seq: 7}), AppendOptions{}); err == nil {
		t.Fatal("sequence gap accepted after reopen")
	}
	if res := mustAppend(t, l2, makeBatch(t, spec{idem: true, pid: 42, epoch: 3, seq: 6})); res.BaseOffset != 6 {
		t.Fatalf("next sequence at %d, want 6", res.BaseOffset)
	}
}
