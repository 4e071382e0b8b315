package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/chronik-stream/chronik/walcodec"
)

// cutEnd reads a captured log's segments and returns the offset after its
// last batch (-1 when it holds none).
func cutEnd(t *testing.T, cl CutLog) int64 {
	t.Helper()
	end := int64(-1)
	for _, s := range cl.Segments {
		sr := walcodec.NewSegmentReader(s.Path, s.Reader(), s.Size, walcodec.ReadAny)
		for {
			rec, _, err := sr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("captured segment %s: %v", s.Path, err)
			}
			for _, c := range rec.Canonical {
				end = c.LastOffset() + 1
			}
		}
	}
	return end
}

// TestCaptureCutConsistent captures logs while appenders run: every captured
// log's bytes end exactly at its captured high watermark, and the captured
// high watermark is at least what was acknowledged before the capture.
func TestCaptureCutConsistent(t *testing.T) {
	root := t.TempDir()
	m := NewManager(root, nil, nil)
	defer m.Close()
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 8 << 10
	var logs []*Log
	for p := int32(0); p < 3; p++ {
		l, err := m.Open("orders", p, cfg)
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, l)
	}
	extra, err := OpenLog(t.TempDir(), "__meta", 0, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	logs = append(logs, extra)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, l := range logs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := makeBatch(t, spec{records: 2, valueSize: 300, tag: fmt.Sprint(i)})
			for ctx.Err() == nil {
				if _, err := l.Append(ctx, b, AppendOptions{}); err != nil && ctx.Err() == nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		}()
	}
	for round := 0; round < 10; round++ {
		before := make([]int64, len(logs))
		for i, l := range logs {
			before[i] = l.HighWatermark()
		}
		cut, err := m.CaptureCut(extra)
		if err != nil {
			t.Fatal(err)
		}
		if len(cut.Logs) != len(logs) {
			t.Fatalf("cut holds %d logs, want %d", len(cut.Logs), len(logs))
		}
		for i, cl := range cut.Logs {
			if cl.HighWatermark < before[i] {
				t.Fatalf("log %s/%d: captured HWM %d below the %d seen before the capture", cl.Topic, cl.Partition, cl.HighWatermark, before[i])
			}
			end := cutEnd(t, cl)
			if end < 0 {
				end = 0
			}
			if end != cl.HighWatermark {
				t.Fatalf("log %s/%d: captured bytes end at offset %d, captured HWM %d", cl.Topic, cl.Partition, end, cl.HighWatermark)
			}
		}
		if err := cut.Close(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "more appends", func() bool { return logs[0].HighWatermark() > before[0]+4 })
	}
	cancel()
	wg.Wait()
}

// TestCutSurvivesRetention: segments deleted after the capture stay readable
// through the cut.
func TestCutSurvivesRetention(t *testing.T) {
	m := NewManager(t.TempDir(), nil, nil)
	defer m.Close()
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 1 // one segment per append
	l, err := m.Open("t", 0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		mustAppend(t, l, makeBatch(t, spec{records: 2}))
	}
	cut, err := m.CaptureCut()
	if err != nil {
		t.Fatal(err)
	}
	defer cut.Close()
	if _, err := l.DeleteRecords(6); err != nil {
		t.Fatal(err)
	}
	if n := l.Stats().Segments; n != 1 {
		t.Fatalf("%d segments left after DeleteRecords, want 1", n)
	}
	if len(cut.Logs) != 1 || len(cut.Logs[0].Segments) != 4 {
		t.Fatalf("cut: %+v", cut.Logs)
	}
	if end := cutEnd(t, cut.Logs[0]); end != 8 {
		t.Fatalf("cut ends at %d, want 8", end)
	}
	if cut.Logs[0].HasCheckpoint {
		t.Fatalf("cut says the log had a checkpoint before DeleteRecords")
	}
}

// TestCutReaderShortFile: a captured segment truncated afterwards reads short
// with io.ErrUnexpectedEOF instead of silently.
func TestCutReaderShortFile(t *testing.T) {
	m := NewManager(t.TempDir(), nil, nil)
	defer m.Close()
	l, err := m.Open("t", 0, DefaultLogConfig())
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, makeBatch(t, spec{records: 2}))
	mustAppend(t, l, makeBatch(t, spec{records: 2}))
	cut, err := m.CaptureCut()
	if err != nil {
		t.Fatal(err)
	}
	defer cut.Close()
	if _, err := l.SetHighWatermark(2); err != nil {
		t.Fatal(err)
	}
	s := cut.Logs[0].Segments[0]
	buf := make([]byte, s.Size)
	if _, err := s.Reader().ReadAt(buf, 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("reading a truncated captured segment: %v", err)
	}
}
