package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chronik-stream/chronik/walcodec"
)

// hwmFixture builds a log of three segments (SegmentBytes 1: every group
// commit starts a new one):
//
//	segment 1: one WAL record holding batches 0..1, 2..3, 4..5 (one payload)
//	segment 2: batch 6..10
//	segment 3: batch 11
//
// The batches are idempotent (producer 7, sequences following offsets).
type hwmFixture struct {
	dir     string
	batches [][]byte // as sent
	bases   []int64
}

func newHWMFixture(t *testing.T, format uint8) (*hwmFixture, *Log) {
	t.Helper()
	fx := &hwmFixture{dir: t.TempDir()}
	cfg := DefaultLogConfig()
	cfg.Format, cfg.SegmentBytes = format, 1
	l, err := OpenLog(fx.dir, "t", 0, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	mk := func(records int, seq int32) []byte {
		return makeBatch(t, spec{records: records, idem: true, pid: 7, seq: seq, tag: "s" + string(rune('a'+seq))})
	}
	first := [][]byte{mk(2, 0), mk(2, 2), mk(2, 4)}
	var payload []byte
	for _, b := range first {
		payload = append(payload, b...)
	}
	mustAppend(t, l, payload)
	b2, b3 := mk(5, 6), mk(1, 11)
	mustAppend(t, l, b2)
	mustAppend(t, l, b3)
	fx.batches = append(first, b2, b3)
	fx.bases = []int64{0, 2, 4, 6, 11}
	if got := len(segmentFiles(t, fx.dir)); got != 3 {
		t.Fatalf("fixture has %d segments, want 3", got)
	}
	return fx, l
}

// checkContents reads the log from its start and compares every batch with
// the first n sent batches.
func (fx *hwmFixture) checkContents(t *testing.T, l *Log, n int) {
	t.Helper()
	var got [][]byte
	for off := l.LogStartOffset(); off < l.HighWatermark(); {
		res, err := l.Read(off, 1<<20)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		for _, rb := range splitBatches(t, res.Records) {
			off = rb.FirstOffset + int64(rb.LastOffsetDelta) + 1
		}
		for b := res.Records; len(b) > 0; {
			h, _ := ParseBatchHeader(b)
			got = append(got, b[:h.Size()])
			b = b[h.Size():]
		}
	}
	if len(got) != n {
		t.Fatalf("log holds %d batches, want %d", len(got), n)
	}
	for i := range got {
		sameBatch(t, got[i], fx.batches[i], fx.bases[i])
	}
}

func TestSetHighWatermark(t *testing.T) {
	tests := []struct {
		name      string
		offset    int64
		wantErr   func(error) bool
		wantHWM   int64
		keep      int // batches left
		wantSegs  int
		firstSize func(orig int64) bool // size check of segment 1
	}{
		{name: "at the high watermark changes nothing", offset: 12, wantHWM: 12, keep: 5, wantSegs: 3},
		{name: "beyond the log end", offset: 13, wantErr: func(err error) bool {
			var re *OffsetRangeError
			return errors.As(err, &re) && errors.Is(err, ErrOffsetBeyondLogEnd) && re.LogEnd == 12 &&
				strings.Contains(err.Error(), "log end offset 12")
		}, wantHWM: 12, keep: 5, wantSegs: 3},
		{name: "below the log start", offset: -1, wantErr: func(err error) bool { return errors.Is(err, ErrOffsetBelowLogStart) },
			wantHWM: 12, keep: 5, wantSegs: 3},
		{name: "inside a batch of a shared record", offset: 3, wantErr: func(err error) bool {
			var be *NotBatchBoundaryError
			return errors.As(err, &be) && be.Before == 2 && be.After == 4 && strings.Contains(err.Error(), "boundaries are 2 and 4")
		}, wantHWM: 12, keep: 5, wantSegs: 3},
		{name: "inside a batch alone in its record", offset: 7, wantErr: func(err error) bool {
			var be *NotBatchBoundaryError
			return errors.As(err, &be) && be.Before == 6 && be.After == 11
		}, wantHWM: 12, keep: 5, wantSegs: 3},
		{name: "last batch: active segment emptied", offset: 11, wantHWM: 11, keep: 4, wantSegs: 3},
		{name: "whole segment and the ones after", offset: 6, wantHWM: 6, keep: 3, wantSegs: 2},
		{name: "inside a shared record: record rewritten", offset: 4, wantHWM: 4, keep: 2, wantSegs: 1,
			firstSize: func(orig int64) bool { return orig > 0 }},
		{name: "first batch of a shared record", offset: 2, wantHWM: 2, keep: 1, wantSegs: 1},
		{name: "everything", offset: 0, wantHWM: 0, keep: 0, wantSegs: 1,
			firstSize: func(orig int64) bool { return orig == 0 }},
	}
	for _, format := range []uint8{walcodec.V2, walcodec.V3} {
		for _, tc := range tests {
			t.Run(tc.name+"/v"+string(rune('0'+format)), func(t *testing.T) {
				fx, l := newHWMFixture(t, format)
				prev, err := l.SetHighWatermark(tc.offset)
				if tc.wantErr != nil {
					if err == nil || !tc.wantErr(err) {
						t.Fatalf("SetHighWatermark(%d) error %v: not the expected one", tc.offset, err)
					}
				} else if err != nil {
					t.Fatalf("SetHighWatermark(%d): %v", tc.offset, err)
				}
				if prev != 12 {
					t.Fatalf("previous %d, want 12", prev)
				}
				check := func(l *Log) {
					t.Helper()
					if hw := l.HighWatermark(); hw != tc.wantHWM {
						t.Fatalf("HWM %d, want %d", hw, tc.wantHWM)
					}
					if ls := l.LogStartOffset(); ls != 0 {
						t.Fatalf("log start %d, want 0", ls)
					}
					fx.checkContents(t, l, tc.keep)
					segs := segmentFiles(t, fx.dir)
					if len(segs) != tc.wantSegs {
						t.Fatalf("%d segments %v, want %d", len(segs), segs, tc.wantSegs)
					}
					if tc.firstSize != nil {
						st, err := os.Stat(segs[0])
						if err != nil || !tc.firstSize(st.Size()) {
							t.Fatalf("segment 1 size %v (%v): unexpected", st.Size(), err)
						}
					}
					for _, s := range segs {
						sum, err := walcodec.VerifySegment(s, walcodec.ReadAny)
						if err != nil || sum.TornTail != nil {
							t.Fatalf("segment %s after truncation: %v %v", s, err, sum.TornTail)
						}
						if sum.Records > 0 && (sum.V2Records > 0) != (format == walcodec.V2) {
							t.Fatalf("segment %s: %d V2 and %d V3 records, log format %d", s, sum.V2Records, sum.V3Records, format)
						}
					}
				}
				check(l)
				// Appends continue at the new high watermark; the producer's
				// state matches what is left.
				res := mustAppend(t, l, makeBatch(t, spec{tag: "after"}))
				if res.BaseOffset != tc.wantHWM {
					t.Fatalf("next append at %d, want %d", res.BaseOffset, tc.wantHWM)
				}
				if tc.keep > 0 {
					last := tc.keep - 1
					dup, err := l.Append(context.Background(), fx.batches[last], AppendOptions{})
					if err != nil || !dup.Duplicate || dup.BaseOffset != fx.bases[last] {
						t.Fatalf("re-sending the last kept idempotent batch: %+v, %v; want a duplicate at %d", dup, err, fx.bases[last])
					}
				}
				if tc.keep < len(fx.batches) && tc.keep > 0 {
					// The first removed batch is no duplicate any more: it is the next in sequence.
					again, err := l.Append(context.Background(), fx.batches[tc.keep], AppendOptions{})
					if err != nil || again.Duplicate || again.BaseOffset != tc.wantHWM+1 {
						t.Fatalf("re-sending the first removed batch: %+v, %v; want it appended at %d", again, err, tc.wantHWM+1)
					}
				}
				// Reopening finds the same state.
				hw := l.HighWatermark()
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				cfg := DefaultLogConfig()
				cfg.Format, cfg.SegmentBytes = format, 1
				l2, err := OpenLog(fx.dir, "t", 0, cfg, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer l2.Close()
				if l2.HighWatermark() != hw {
					t.Fatalf("reopened HWM %d, want %d", l2.HighWatermark(), hw)
				}
			})
		}
	}
}

func TestSetHighWatermarkToLogStartKeepsNextOffset(t *testing.T) {
	fx, l := newHWMFixture(t, walcodec.V3)
	if _, err := l.DeleteRecords(6); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SetHighWatermark(5); !errors.Is(err, ErrOffsetBelowLogStart) {
		t.Fatalf("below log start: %v", err)
	}
	if _, err := l.SetHighWatermark(6); err != nil {
		t.Fatal(err)
	}
	if l.HighWatermark() != 6 || l.LogStartOffset() != 6 {
		t.Fatalf("HWM %d start %d, want 6 and 6", l.HighWatermark(), l.LogStartOffset())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := OpenLog(fx.dir, "t", 0, DefaultLogConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if l2.HighWatermark() != 6 || l2.LogStartOffset() != 6 {
		t.Fatalf("reopened: HWM %d start %d, want 6 and 6", l2.HighWatermark(), l2.LogStartOffset())
	}
	if res := mustAppend(t, l2, makeBatch(t, spec{})); res.BaseOffset != 6 {
		t.Fatalf("next append at %d, want 6", res.BaseOffset)
	}
}

func TestSetHighWatermarkClosedLog(t *testing.T) {
	_, l := newHWMFixture(t, walcodec.V3)
	_ = l.Close()
	if _, err := l.SetHighWatermark(6); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed log: %v", err)
	}
}

// TestSetHighWatermarkUnderLoad truncates while appenders run: appends fail
// only with ErrClosed, offsets stay contiguous and the files agree with the
// index.
func TestSetHighWatermarkUnderLoad(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 4 << 10
	l, err := OpenLog(dir, "t", 0, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := makeBatch(t, spec{records: 3, valueSize: 200})
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := l.Append(context.Background(), b, AppendOptions{}); err != nil && !errors.Is(err, ErrClosed) {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		waitFor(t, "some appends", func() bool { return l.HighWatermark() >= 30 })
		hw := l.HighWatermark()
		target := hw - 3*int64(i%4) // a batch boundary: every batch has 3 records
		if _, err := l.SetHighWatermark(target); err != nil {
			t.Fatalf("SetHighWatermark(%d) at HWM %d: %v", target, hw, err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("append failed: %v", err)
	}
	hw := l.HighWatermark()
	next := int64(0)
	for next < hw {
		res, err := l.Read(next, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, rb := range splitBatches(t, res.Records) {
			if rb.FirstOffset != next {
				t.Fatalf("batch at %d, want %d", rb.FirstOffset, next)
			}
			next += int64(rb.LastOffsetDelta) + 1
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := OpenLog(dir, "t", 0, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if l2.HighWatermark() != hw {
		t.Fatalf("reopened HWM %d, want %d", l2.HighWatermark(), hw)
	}
	if _, err := os.Stat(filepath.Join(dir, checkpointName)); err == nil {
		t.Fatalf("a checkpoint was written although batches remain")
	}
}
