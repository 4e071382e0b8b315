package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-stream/chronik/walcodec"
)

func TestAppendReadRoundTrip(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultLogConfig())
	specs := []spec{{records: 1}, {records: 5, valueSize: 100}, {records: 3, valueSize: 1000}, {records: 1, valueSize: 5000}}
	var sent [][]byte
	var bases []int64
	next := int64(0)
	for i, s := range specs {
		s.tag = fmt.Sprint(i)
		b := makeBatch(t, s)
		res := mustAppend(t, l, b)
		if res.BaseOffset != next || res.LastOffset != next+int64(s.records)-1 || res.Duplicate {
			t.Fatalf("append %d: got %+v, want base %d", i, res, next)
		}
		sent, bases = append(sent, b), append(bases, next)
		next += int64(s.records)
	}
	if hw := l.HighWatermark(); hw != next {
		t.Fatalf("HWM %d, want %d", hw, next)
	}
	// Every offset reads back the batch holding it and everything after.
	for off := int64(0); off < next; off++ {
		res, err := l.Read(off, 1<<20)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		first := sort.Search(len(bases), func(i int) bool { return bases[i] > off }) - 1
		got := splitBatches(t, res.Records)
		if len(got) != len(sent)-first {
			t.Fatalf("Read(%d): %d batches, want %d", off, len(got), len(sent)-first)
		}
		pos := 0
		for k := first; k < len(sent); k++ {
			sameBatch(t, res.Records[pos:pos+len(sent[k])], sent[k], bases[k])
			pos += len(sent[k])
		}
		if res.HighWatermark != next || res.LogStartOffset != 0 {
			t.Fatalf("Read(%d): hwm %d start %d", off, res.HighWatermark, res.LogStartOffset)
		}
	}
}

func TestAppendMultiBatchPayload(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultLogConfig())
	a, b := makeBatch(t, spec{records: 2, tag: "a"}), makeBatch(t, spec{records: 3, tag: "b"})
	res := mustAppend(t, l, append(append([]byte(nil), a...), b...))
	if res.BaseOffset != 0 || res.LastOffset != 4 {
		t.Fatalf("got %+v, want offsets 0..4", res)
	}
	rr, err := l.Read(0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	sameBatch(t, rr.Records[:len(a)], a, 0)
	sameBatch(t, rr.Records[len(a):], b, 2)
}

func TestAppendDoesNotModifyCallerBytes(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultLogConfig())
	mustAppend(t, l, makeBatch(t, spec{}))
	b := makeBatch(t, spec{})
	orig := bytes.Clone(b)
	mustAppend(t, l, b)
	if !bytes.Equal(b, orig) {
		t.Fatal("Append modified the caller's bytes")
	}
}

func TestAppendRejectsBadBatches(t *testing.T) {
	good := makeBatch(t, spec{records: 2})
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name    string
		payload []byte
		want    *kerr.Error
	}{
		{"empty", nil, kerr.InvalidRecord},
		{"shorter than a header", good[:40], kerr.CorruptMessage},
		{"truncated batch", good[:len(good)-1], kerr.CorruptMessage},
		{"bad crc", mutate(func(b []byte) []byte { b[len(b)-1] ^= 0xff; return b }), kerr.CorruptMessage},
		{"magic 1", mutate(func(b []byte) []byte { b[16] = 1; return b }), kerr.CorruptMessage},
		{"length too small", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], 10); return b }), kerr.CorruptMessage},
		{"negative length", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], 0xffffffff); return b }), kerr.CorruptMessage},
		{"trailing garbage", append(bytes.Clone(good), 1, 2, 3), kerr.CorruptMessage},
		{"count mismatch", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[57:], 3) // num_records, inside the CRC: recompute it
			binary.BigEndian.PutUint32(b[17:], walcodec.Checksum(b[21:]))
			return b
		}), kerr.InvalidRecord},
	}
	l := openTest(t, t.TempDir(), DefaultLogConfig())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := l.Append(context.Background(), tc.payload, AppendOptions{})
			if ke := kerrOf(err); ke != tc.want {
				t.Fatalf("error %v, want %s", err, tc.want.Message)
			}
		})
	}
	if hw := l.HighWatermark(); hw != 0 {
		t.Fatalf("rejected appends moved the HWM to %d", hw)
	}
}

func TestConcurrentAppendersContiguousOffsets(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultLogConfig())
	const writers, each = 16, 40
	type landed struct {
		tag        string
		base, last int64
		records    int
	}
	var mu sync.Mutex
	var all []landed
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				n := 1 + (w+i)%4
				tag := fmt.Sprintf("w%d-%d", w, i)
				res, err := l.Append(context.Background(), makeBatch(t, spec{records: n, tag: tag}), AppendOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				all = append(all, landed{tag, res.BaseOffset, res.LastOffset, n})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(all, func(i, j int) bool { return all[i].base < all[j].base })
	next := int64(0)
	for _, a := range all {
		if a.base != next || a.last != a.base+int64(a.records)-1 {
			t.Fatalf("batch %s at %d..%d, want to start at %d", a.tag, a.base, a.last, next)
		}
		next = a.last + 1
	}
	if hw := l.HighWatermark(); hw != next {
		t.Fatalf("HWM %d, want %d", hw, next)
	}
	// What is stored at each offset is what that appender sent.
	for _, a := range all {
		res, err := l.Read(a.base, 1)
		if err != nil {
			t.Fatal(err)
		}
		bs := splitBatches(t, res.Records)
		if len(bs) != 1 || bs[0].FirstOffset != a.base || !bytes.Contains(bs[0].Records, []byte(a.tag+"#0#")) {
			t.Fatalf("offset %d does not hold batch %s", a.base, a.tag)
		}
	}
}

func TestGroupCommitOneWriteOneFsync(t *testing.T) {
	reg := prometheus.NewRegistry()
	l := openTest(t, t.TempDir(), DefaultLogConfig(), withMetrics(NewMetrics(reg)))
	started, release := blockWriter(l)

	// The first append occupies the writer; the next ones queue up behind it.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); mustAppend(t, l, makeBatch(t, spec{})) }()
	<-started
	const queued = 20
	for i := 0; i < queued; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mustAppend(t, l, makeBatch(t, spec{records: 2}))
		}()
	}
	waitFor(t, "appends to queue", func() bool { return queueLen(l) == queued })
	release()
	wg.Wait()

	m := readMetrics(t, reg)
	if m.fsyncs != 2 || m.records != 2 {
		t.Fatalf("fsyncs %d, records %v; want 2 and 2 (the blocked group, then all %d queued appends together)", m.fsyncs, m.records, queued)
	}
	if hw := l.HighWatermark(); hw != 1+2*queued {
		t.Fatalf("HWM %d", hw)
	}
	if st := l.Stats(); float64(st.Bytes) != m.bytes {
		t.Fatalf("bytes on disk %d, metric says %v", st.Bytes, m.bytes)
	}
}

func TestGroupCommitSplitsRecordsByRaftMeta(t *testing.T) {
	reg := prometheus.NewRegistry()
	dir := t.TempDir()
	l := openTest(t, dir, DefaultLogConfig(), withMetrics(NewMetrics(reg)))
	started, release := blockWriter(l)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); mustAppend(t, l, makeBatch(t, spec{})) }()
	<-started
	metas := []*walcodec.RaftMeta{{Term: 1, Index: 10, LeaderID: 1}, {Term: 1, Index: 11, LeaderID: 1}, {Term: 1, Index: 11, LeaderID: 1}, nil}
	for i, m := range metas {
		if _, err := l.Append(context.Background(), makeBatch(t, spec{tag: fmt.Sprint(i)}), AppendOptions{Raft: m, NoWait: true}); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.LastRaftIndex(); got != 11 {
		t.Fatalf("LastRaftIndex %d, want 11", got)
	}
	release()
	wg.Wait()
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	m := readMetrics(t, reg)
	// Group 1: one record. Group 2: raft 10 | raft 11 (two appends) | none.
	if m.fsyncs != 2 || m.records != 4 {
		t.Fatalf("fsyncs %d, records %v; want 2 fsyncs and 4 records", m.fsyncs, m.records)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, walcodec.SegmentName(0, 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	sr := walcodec.NewSegmentReader(f.Name(), f, st.Size(), walcodec.ReadAny)
	var got []string
	for {
		rec, _, err := sr.Next()
		if err != nil {
			break
		}
		got = append(got, fmt.Sprintf("%s/%d", rec.Raft, len(rec.Canonical)))
	}
	want := []string{"None/1",
		"Some(RaftMetadata { term: 1, index: 10, leader_id: 1 })/1",
		"Some(RaftMetadata { term: 1, index: 11, leader_id: 1 })/2",
		"None/1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("records on disk %q, want %q", got, want)
	}
	l2 := openTest(t, dir, DefaultLogConfig())
	if got := l2.LastRaftIndex(); got != 11 {
		t.Fatalf("LastRaftIndex after reopen %d, want 11", got)
	}
}

func TestReadMaxBytes(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultLogConfig())
	var sizes []int
	for i := 0; i < 4; i++ {
		b := makeBatch(t, spec{valueSize: 100 * (i + 1)})
		sizes = append(sizes, len(b))
		mustAppend(t, l, b)
	}
	tests := []struct {
		name     string
		offset   int64
		maxBytes int
		batches  int
	}{
		{"zero still gives one batch (KIP-74)", 0, 0, 1},
		{"less than the first batch", 0, sizes[0] - 1, 1},
		{"exactly the first batch", 0, sizes[0], 1},
		{"one byte short of two", 0, sizes[0] + sizes[1] - 1, 1},
		{"exactly two", 0, sizes[0] + sizes[1], 2},
		{"everything", 0, 1 << 20, 4},
		{"from the middle", 2, sizes[2] + sizes[3], 2},
		{"last batch", 3, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := l.Read(tc.offset, tc.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			bs := splitBatches(t, res.Records)
			if len(bs) != tc.batches || bs[0].FirstOffset != tc.offset {
				t.Fatalf("%d batches from %d, want %d from %d", len(bs), bs[0].FirstOffset, tc.batches, tc.offset)
			}
		})
	}
}

func TestReadOffsetOutOfRange(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultLogConfig())
	for i := 0; i < 5; i++ {
		mustAppend(t, l, makeBatch(t, spec{records: 2}))
	}
	if _, err := l.DeleteRecords(4); err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{-1, 0, 3, 11, 100} {
		if _, err := l.Read(off, 100); kerrOf(err) != kerr.OffsetOutOfRange {
			t.Errorf("Read(%d): %v, want OFFSET_OUT_OF_RANGE", off, err)
		}
	}
	res, err := l.Read(10, 100)
	if err != nil || len(res.Records) != 0 || res.HighWatermark != 10 || res.LogStartOffset != 4 {
		t.Fatalf("Read(HWM) = %d bytes, hwm %d, start %d, %v; want empty, 10, 4", len(res.Records), res.HighWatermark, res.LogStartOffset, err)
	}
	res, err = l.Read(5, 1)
	if err != nil {
		t.Fatal(err)
	}
	if bs := splitBatches(t, res.Records); bs[0].FirstOffset != 4 {
		t.Fatalf("Read(5) starts at batch %d, want the batch 4..5", bs[0].FirstOffset)
	}
}

func TestRollAndReadAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 4096
	l := openTest(t, dir, cfg)
	var sent [][]byte
	for i := 0; i < 30; i++ {
		b := makeBatch(t, spec{records: 2, valueSize: 300, tag: fmt.Sprint(i)})
		sent = append(sent, b)
		mustAppend(t, l, b)
	}
	st := l.Stats()
	if st.Segments < 5 {
		t.Fatalf("%d segments, want rolls every ~4 KiB", st.Segments)
	}
	for seq := 1; seq <= st.Segments; seq++ {
		fi, err := os.Stat(filepath.Join(dir, walcodec.SegmentName(0, uint64(seq))))
		if err != nil {
			t.Fatalf("segment %d: %v", seq, err)
		}
		if seq < st.Segments && fi.Size() > cfg.SegmentBytes {
			t.Fatalf("closed segment %d has %d bytes, over the %d limit", seq, fi.Size(), cfg.SegmentBytes)
		}
	}
	// A consumer loop reads everything in order across segments.
	var got int
	for off := int64(0); off < l.HighWatermark(); {
		res, err := l.Read(off, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range splitBatches(t, res.Records) {
			if b.FirstOffset != int64(2*got) {
				t.Fatalf("batch %d at offset %d", got, b.FirstOffset)
			}
			raw := b.AppendTo(nil)
			sameBatch(t, raw, sent[got], int64(2*got))
			got++
			off = b.FirstOffset + int64(b.LastOffsetDelta) + 1
		}
	}
	if got != len(sent) {
		t.Fatalf("read %d batches, want %d", got, len(sent))
	}
}

func TestRecoveryAfterReopen(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 2048
	l := openTest(t, dir, cfg)
	var sent [][]byte
	for i := 0; i < 12; i++ {
		b := makeBatch(t, spec{records: 3, valueSize: 200, tag: fmt.Sprint(i)})
		sent = append(sent, b)
		mustAppend(t, l, b)
	}
	before := l.Stats()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openTest(t, dir, cfg)
	if hw := l2.HighWatermark(); hw != 36 {
		t.Fatalf("HWM after reopen %d, want 36", hw)
	}
	if st := l2.Stats(); st != before {
		t.Fatalf("stats after reopen %+v, before %+v", st, before)
	}
	for i, b := range sent {
		res, err := l2.Read(int64(3*i), 1)
		if err != nil {
			t.Fatal(err)
		}
		sameBatch(t, res.Records, b, int64(3*i))
	}
	if res := mustAppend(t, l2, makeBatch(t, spec{})); res.BaseOffset != 36 {
		t.Fatalf("append after reopen at %d, want 36", res.BaseOffset)
	}
}

func TestChangedFiresOnHWMAdvance(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultLogConfig())
	ch := l.Changed()
	select {
	case <-ch:
		t.Fatal("Changed closed before any append")
	default:
	}
	mustAppend(t, l, makeBatch(t, spec{}))
	<-ch // closed by the append
	ch2 := l.Changed()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	<-ch2 // closed by Close
}

func TestNoWaitAppend(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultLogConfig())
	b := makeBatch(t, spec{records: 3})
	orig := bytes.Clone(b)
	res, err := l.Append(context.Background(), b, AppendOptions{NoWait: true})
	if err != nil || res.BaseOffset != 0 || res.LastOffset != 2 {
		t.Fatalf("NoWait append: %+v %v", res, err)
	}
	clear(b) // the caller reuses its buffer at once
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	rr, err := l.Read(0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	sameBatch(t, rr.Records, orig, 0)
}

func TestAppendAfterClose(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultLogConfig())
	mustAppend(t, l, makeBatch(t, spec{}))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), makeBatch(t, spec{}), AppendOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}
	if _, err := l.Read(0, 100); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v, want ErrClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestCloseFlushesQueuedAppends(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, DefaultLogConfig())
	started, release := blockWriter(l)
	go func() { _, _ = l.Append(context.Background(), makeBatch(t, spec{}), AppendOptions{}) }()
	<-started
	for i := 0; i < 5; i++ {
		if _, err := l.Append(context.Background(), makeBatch(t, spec{}), AppendOptions{NoWait: true}); err != nil {
			t.Fatal(err)
		}
	}
	closed := make(chan error)
	go func() { closed <- l.Close() }()
	release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	l2 := openTest(t, dir, DefaultLogConfig())
	if hw := l2.HighWatermark(); hw != 6 {
		t.Fatalf("HWM after Close+reopen %d, want 6", hw)
	}
}

func TestQueueBoundHonoursContext(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultLogConfig())
	l.qmu.Lock()
	l.queueLimit = 4096
	l.qmu.Unlock()
	started, release := blockWriter(l)
	defer release()
	go func() { _, _ = l.Append(context.Background(), makeBatch(t, spec{}), AppendOptions{}) }()
	<-started
	b := makeBatch(t, spec{valueSize: 3000})
	if _, err := l.Append(context.Background(), b, AppendOptions{NoWait: true}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Append(ctx, b, AppendOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append on a full queue with a cancelled context: %v", err)
	}
	// Once the writer drains, a waiting append gets through.
	done := make(chan error)
	go func() {
		_, err := l.Append(context.Background(), b, AppendOptions{})
		done <- err
	}()
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestFormatV2WritesWAL2(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultLogConfig()
	cfg.Format = walcodec.V2
	l := openTest(t, dir, cfg)
	mustAppend(t, l, makeBatch(t, spec{}))
	raw, err := os.ReadFile(filepath.Join(dir, walcodec.SegmentName(0, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if string(raw[:4]) != "WAL2" || raw[4] != 2 {
		t.Fatalf("segment starts with % x, want WAL2 magic and version 2", raw[:5])
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopened as V3, new records go to a fresh segment.
	l2 := openTest(t, dir, DefaultLogConfig())
	mustAppend(t, l2, makeBatch(t, spec{}))
	raw, err = os.ReadFile(filepath.Join(dir, walcodec.SegmentName(0, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if string(raw[:4]) != "WAL3" {
		t.Fatalf("second segment starts with %q, want WAL3", raw[:4])
	}
	res, err := l2.Read(0, 1<<20)
	if err != nil || len(splitBatches(t, res.Records)) != 1 {
		t.Fatalf("reading the V2 segment: %v", err)
	}
}

func TestOffsetForTimestampAndMaxTimestamp(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultLogConfig())
	if off, ts := l.MaxTimestamp(); off != -1 || ts != -1 {
		t.Fatalf("empty log MaxTimestamp = %d, %d", off, ts)
	}
	// Batches at offsets 0..1 (ts 1000..1001), 2..3 (5000..5001), 4..5 (3000..3001).
	for _, ts := range []int64{1000, 5000, 3000} {
		mustAppend(t, l, makeBatch(t, spec{records: 2, ts: ts}))
	}
	tests := []struct {
		ts        int64
		offset    int64
		timestamp int64
		found     bool
	}{
		{0, 0, 1001, true},
		{1001, 0, 1001, true},
		{1002, 2, 5001, true},
		{4000, 2, 5001, true},
		{5001, 2, 5001, true},
		{5002, -1, -1, false},
	}
	for _, tc := range tests {
		off, ts, found := l.OffsetForTimestamp(tc.ts)
		if off != tc.offset || ts != tc.timestamp || found != tc.found {
			t.Errorf("OffsetForTimestamp(%d) = %d, %d, %v; want %d, %d, %v", tc.ts, off, ts, found, tc.offset, tc.timestamp, tc.found)
		}
	}
	if off, ts := l.MaxTimestamp(); off != 3 || ts != 5001 {
		t.Fatalf("MaxTimestamp = %d, %d; want 3, 5001", off, ts)
	}
}

func TestScan(t *testing.T) {
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 1024
	l := openTest(t, t.TempDir(), cfg)
	for i := 0; i < 10; i++ {
		mustAppend(t, l, makeBatch(t, spec{records: 2, valueSize: 200, idem: true, pid: 7, epoch: 1, seq: int32(2 * i)}))
	}
	var bases []int64
	err := l.Scan(5, func(c walcodec.CanonicalRecord) error {
		if c.ProducerID != 7 || c.ProducerEpoch != 1 || c.BaseSequence != int32(c.BaseOffset) || c.LastOffsetDelta != 1 {
			return fmt.Errorf("batch %d: %+v", c.BaseOffset, c)
		}
		if got := int64(binary.BigEndian.Uint64(c.Batch)); got != c.BaseOffset {
			return fmt.Errorf("batch bytes say base %d, canonical %d", got, c.BaseOffset)
		}
		bases = append(bases, c.BaseOffset)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(bases) != "[4 6 8 10 12 14 16 18]" {
		t.Fatalf("scanned bases %v", bases)
	}
	stop := errors.New("stop")
	if err := l.Scan(0, func(walcodec.CanonicalRecord) error { return stop }); err != stop {
		t.Fatalf("Scan did not return fn's error: %v", err)
	}
}

func TestSegmentAgeRoll(t *testing.T) {
	l := openTest(t, t.TempDir(), DefaultLogConfig())
	mustAppend(t, l, makeBatch(t, spec{}))
	if err := l.RollIfOld(time.Now()); err != nil || l.Stats().Segments != 1 {
		t.Fatalf("young segment rolled: %v, %d segments", err, l.Stats().Segments)
	}
	if err := l.RollIfOld(time.Now().Add(8 * 24 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := l.Stats().Segments; n != 2 {
		t.Fatalf("%d segments after an age roll, want 2", n)
	}
	// The new active segment is empty: rolling it again does nothing.
	if err := l.RollIfOld(time.Now().Add(8 * 24 * time.Hour)); err != nil || l.Stats().Segments != 2 {
		t.Fatalf("empty segment rolled: %v", err)
	}
	if res := mustAppend(t, l, makeBatch(t, spec{})); res.BaseOffset != 1 {
		t.Fatalf("append after roll at %d", res.BaseOffset)
	}
}
