package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// spec describes a test RecordBatch.
type spec struct {
	records   int   // default 1
	valueSize int   // bytes per record value (default 16)
	ts        int64 // first timestamp (default: now)
	pid       int64 // producer id; 0 in a spec means "not idempotent" unless idem is set
	epoch     int16
	seq       int32
	idem      bool
	tag       string // written at the start of every value
}

// makeBatch builds a magic-2 RecordBatch with kmsg and a valid CRC-32C.
func makeBatch(t testing.TB, s spec) []byte {
	t.Helper()
	if s.records == 0 {
		s.records = 1
	}
	if s.valueSize == 0 {
		s.valueSize = 16
	}
	if s.ts == 0 {
		s.ts = time.Now().UnixMilli()
	}
	var recs []byte
	for i := 0; i < s.records; i++ {
		val := bytes.Repeat([]byte{byte('a' + i%26)}, s.valueSize)
		copy(val, fmt.Sprintf("%s#%d#", s.tag, i))
		r := kmsg.Record{
			TimestampDelta64: int64(i),
			OffsetDelta:      int32(i),
			Key:              []byte(fmt.Sprintf("k%d", i)),
			Value:            val,
		}
		body := r.AppendTo(nil) // Length 0 encodes as one varint byte
		r.Length = int32(len(body) - 1)
		recs = r.AppendTo(recs)
	}
	b := kmsg.RecordBatch{
		FirstOffset:          0,
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      int32(s.records - 1),
		FirstTimestamp:       s.ts,
		MaxTimestamp:         s.ts + int64(s.records-1),
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           int32(s.records),
		Records:              recs,
	}
	if s.idem {
		b.ProducerID, b.ProducerEpoch, b.FirstSequence = s.pid, s.epoch, s.seq
	}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

// splitBatches checks a Read result with kmsg: back-to-back magic-2 batches
// with valid CRCs and (uncompressed) decodable records.
func splitBatches(t testing.TB, b []byte) []kmsg.RecordBatch {
	t.Helper()
	var out []kmsg.RecordBatch
	for len(b) > 0 {
		h, err := ParseBatchHeader(b)
		if err != nil {
			t.Fatalf("stored batch %d does not parse: %v", len(out), err)
		}
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(b[:h.Size()]); err != nil {
			t.Fatalf("kmsg cannot read stored batch %d: %v", len(out), err)
		}
		recs := rb.Records
		for i := 0; rb.Attributes&7 == 0 && i < int(rb.NumRecords); i++ { // compressed: not walked
			var r kmsg.Record
			if err := r.ReadFrom(recs); err != nil {
				t.Fatalf("batch %d record %d: %v", len(out), i, err)
			}
			n := int(r.Length) + varintLen(r.Length)
			recs = recs[n:]
		}
		out = append(out, rb)
		b = b[h.Size():]
	}
	return out
}

func varintLen(v int32) int {
	var buf [binary.MaxVarintLen32]byte
	return binary.PutVarint(buf[:], int64(v))
}

// sameBatch reports whether stored equals sent except for the base offset,
// and that the base offset is want.
func sameBatch(t testing.TB, stored, sent []byte, want int64) {
	t.Helper()
	if len(stored) != len(sent) {
		t.Fatalf("stored batch has %d bytes, sent %d", len(stored), len(sent))
	}
	if got := int64(binary.BigEndian.Uint64(stored)); got != want {
		t.Fatalf("stored base offset %d, want %d", got, want)
	}
	if !bytes.Equal(stored[8:], sent[8:]) {
		t.Fatalf("stored batch bytes 8.. differ from what was sent")
	}
}

func kerrOf(err error) *kerr.Error {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke
	}
	return nil
}

// openTest opens the log in dir (closed at cleanup) with the given tweaks.
func openTest(t testing.TB, dir string, cfg LogConfig, opts ...func(*testEnv)) *Log {
	t.Helper()
	env := testEnv{}
	for _, o := range opts {
		o(&env)
	}
	l, err := OpenLog(dir, "t", 0, cfg, env.logger, env.metrics)
	if err != nil {
		t.Fatalf("OpenLog: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

type testEnv struct {
	logger  *slog.Logger
	metrics *Metrics
}

func withLogger(lg *slog.Logger) func(*testEnv) { return func(e *testEnv) { e.logger = lg } }
func withMetrics(m *Metrics) func(*testEnv)     { return func(e *testEnv) { e.metrics = m } }

func mustAppend(t testing.TB, l *Log, b []byte) AppendResult {
	t.Helper()
	res, err := l.Append(context.Background(), b, AppendOptions{})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return res
}

// logBuffer captures log output safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newCapture() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// metricValues reads the write metrics back from a registry.
type metricValues struct {
	fsyncs  uint64
	bytes   float64
	records float64
}

func readMetrics(t testing.TB, reg *prometheus.Registry) metricValues {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v metricValues
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		switch mf.GetName() {
		case "chronik_wal_fsync_seconds":
			v.fsyncs = m.GetHistogram().GetSampleCount()
		case "chronik_wal_bytes_written_total":
			v.bytes = m.GetCounter().GetValue()
		case "chronik_wal_records_written_total":
			v.records = m.GetCounter().GetValue()
		}
	}
	return v
}

// blockWriter makes the writer stop at the start of its next group until the
// returned release is called; started is closed once it is blocked.
func blockWriter(l *Log) (started <-chan struct{}, release func()) {
	st := make(chan struct{})
	gate := make(chan struct{})
	var once sync.Once
	l.w.hook = func() {
		once.Do(func() {
			close(st)
			<-gate
		})
	}
	var rel sync.Once
	return st, func() { rel.Do(func() { close(gate) }) }
}

// queueLen is the number of queued requests.
func queueLen(l *Log) int {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	return len(l.queue)
}

// waitFor polls cond until it holds or the test times out.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// benchProcs is GOMAXPROCS, the goroutine multiplier of RunParallel.
func benchProcs() int { return runtime.GOMAXPROCS(0) }
