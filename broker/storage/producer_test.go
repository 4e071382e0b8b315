package storage

import (
	"bytes"
	"context"
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func TestIdempotentProducer(t *testing.T) {
	type step struct {
		epoch   int16
		seq     int32
		records int
		want    *kerr.Error // nil = accepted
		dup     bool
		base    int64 // expected base offset (original one for duplicates)
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order then duplicate of the last", []step{
			{0, 0, 2, nil, false, 0}, {0, 2, 1, nil, false, 2}, {0, 2, 1, nil, true, 2},
		}},
		{"duplicate of an older in-flight batch", []step{
			{0, 0, 1, nil, false, 0}, {0, 1, 1, nil, false, 1}, {0, 2, 1, nil, false, 2}, {0, 0, 1, nil, true, 0},
		}},
		{"only the last five batches are remembered", []step{
			{0, 0, 1, nil, false, 0}, {0, 1, 1, nil, false, 1}, {0, 2, 1, nil, false, 2}, {0, 3, 1, nil, false, 3},
			{0, 4, 1, nil, false, 4}, {0, 5, 1, nil, false, 5},
			{0, 1, 1, nil, true, 1}, {0, 0, 1, kerr.OutOfOrderSequenceNumber, false, 0},
		}},
		{"gap", []step{{0, 0, 1, nil, false, 0}, {0, 2, 1, kerr.OutOfOrderSequenceNumber, false, 0}}},
		{"same first seq, different length", []step{{0, 0, 2, nil, false, 0}, {0, 0, 1, kerr.OutOfOrderSequenceNumber, false, 0}}},
		{"stale epoch", []step{{3, 0, 1, nil, false, 0}, {2, 1, 1, kerr.InvalidProducerEpoch, false, 0}}},
		{"new epoch restarts at zero", []step{{0, 0, 1, nil, false, 0}, {0, 1, 1, nil, false, 1}, {1, 0, 1, nil, false, 2}, {1, 1, 1, nil, false, 3}}},
		{"new epoch must start at zero", []step{{0, 0, 1, nil, false, 0}, {1, 5, 1, kerr.OutOfOrderSequenceNumber, false, 0}}},
		{"unknown producer may start anywhere", []step{{0, 17, 1, nil, false, 0}, {0, 18, 1, nil, false, 1}}},
		{"sequence wraps at int32 max", []step{
			{0, math.MaxInt32 - 1, 2, nil, false, 0}, {0, 0, 1, nil, false, 2}, {0, math.MaxInt32 - 1, 2, nil, true, 0},
		}},
		{"batch spanning the wrap", []step{{0, math.MaxInt32, 3, nil, false, 0}, {0, 2, 1, nil, false, 3}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := openTest(t, t.TempDir(), DefaultLogConfig())
			for i, s := range tc.steps {
				b := makeBatch(t, spec{records: s.records, idem: true, pid: 9, epoch: s.epoch, seq: s.seq})
				res, err := l.Append(context.Background(), b, AppendOptions{})
				if ke := kerrOf(err); ke != s.want || (s.want == nil && err != nil) {
					t.Fatalf("step %d: error %v, want %v", i, err, s.want)
				}
				if s.want != nil {
					continue
				}
				if res.Duplicate != s.dup || res.BaseOffset != s.base || res.LastOffset != s.base+int64(s.records)-1 {
					t.Fatalf("step %d: %+v, want base %d duplicate %v", i, res, s.base, s.dup)
				}
			}
		})
	}
}

func TestDuplicateWritesNothing(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultLogConfig())
	b := makeBatch(t, spec{records: 3, idem: true, pid: 1, epoch: 0, seq: 0})
	mustAppend(t, l, b)
	before := l.Stats()
	for _, noWait := range []bool{false, true} {
		res, err := l.Append(context.Background(), b, AppendOptions{NoWait: noWait})
		if err != nil || !res.Duplicate || res.BaseOffset != 0 || res.LastOffset != 2 {
			t.Fatalf("retry (NoWait %v): %+v %v", noWait, res, err)
		}
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if after := l.Stats(); after != before || l.HighWatermark() != 3 {
		t.Fatalf("duplicate changed the log: %+v -> %+v, HWM %d", before, after, l.HighWatermark())
	}
}

func TestDuplicateOfQueuedBatchWaitsForIt(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultLogConfig())
	started, release := blockWriter(l)
	go func() { _, _ = l.Append(context.Background(), makeBatch(t, spec{}), AppendOptions{}) }()
	<-started
	b := makeBatch(t, spec{idem: true, pid: 5, epoch: 0, seq: 0})
	if _, err := l.Append(context.Background(), b, AppendOptions{NoWait: true}); err != nil {
		t.Fatal(err)
	}
	done := make(chan AppendResult)
	go func() {
		res, err := l.Append(context.Background(), b, AppendOptions{})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	waitFor(t, "the retry to queue", func() bool { return queueLen(l) == 2 })
	release()
	res := <-done
	if !res.Duplicate || res.BaseOffset != 1 {
		t.Fatalf("retry of a queued batch: %+v", res)
	}
	if hw := l.HighWatermark(); hw <= res.LastOffset {
		t.Fatalf("duplicate answered before its original was durable: HWM %d", hw)
	}
}

func TestMultiBatchPayloadIsAllOrNothing(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultLogConfig())
	ok := makeBatch(t, spec{idem: true, pid: 3, epoch: 0, seq: 0})
	gap := makeBatch(t, spec{idem: true, pid: 3, epoch: 0, seq: 5})
	if _, err := l.Append(context.Background(), append(bytes.Clone(ok), gap...), AppendOptions{}); kerrOf(err) != kerr.OutOfOrderSequenceNumber {
		t.Fatalf("payload with a gap: %v", err)
	}
	// The first batch was not recorded: sending it again is not a duplicate.
	if res := mustAppend(t, l, ok); res.Duplicate || res.BaseOffset != 0 {
		t.Fatalf("after a refused payload: %+v", res)
	}
	next := makeBatch(t, spec{idem: true, pid: 3, epoch: 0, seq: 1})
	if _, err := l.Append(context.Background(), append(bytes.Clone(ok), next...), AppendOptions{}); kerrOf(err) != kerr.DuplicateSequenceNumber {
		t.Fatalf("payload mixing a duplicate and a new batch: %v", err)
	}
	if res := mustAppend(t, l, next); res.Duplicate || res.BaseOffset != 1 {
		t.Fatalf("next batch: %+v", res)
	}
}
