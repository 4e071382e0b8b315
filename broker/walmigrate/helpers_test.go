package walmigrate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/chronik-stream/chronik/walcodec"
)

// testBatch builds a magic-2 RecordBatch with n records and a valid CRC-32C;
// pid >= 0 makes it idempotent with base sequence seq.
func testBatch(t testing.TB, n int, tag string, pid int64, seq int32) []byte {
	t.Helper()
	var recs []byte
	for i := 0; i < n; i++ {
		r := kmsg.Record{
			TimestampDelta64: int64(i),
			OffsetDelta:      int32(i),
			Key:              []byte(fmt.Sprintf("%s-k%d", tag, i)),
			Value:            bytes.Repeat([]byte(tag), 20+i),
			Headers:          []kmsg.Header{{Key: "h", Value: []byte(tag)}},
		}
		body := r.AppendTo(nil)
		r.Length = int32(len(body) - 1)
		recs = r.AppendTo(recs)
	}
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      int32(n - 1),
		FirstTimestamp:       1700000000000,
		MaxTimestamp:         1700000000000 + int64(n-1),
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           int32(n),
		Records:              recs,
	}
	if pid >= 0 {
		b.ProducerID, b.ProducerEpoch, b.FirstSequence = pid, 0, seq
	}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

// logSpec is one log of a test WAL root.
type logSpec struct {
	dir       string // relative to the root
	topic     string
	partition int32
	appends   int
	meta      bool
}

var testLogs = []logSpec{
	{dir: "__meta", topic: "__meta", meta: true, appends: 6},
	{dir: "orders/0", topic: "orders", partition: 0, appends: 12},
	{dir: "orders/1", topic: "orders", partition: 1, appends: 9},
	{dir: "events/0", topic: "events", partition: 0, appends: 5},
}

func logConfig(format uint8, meta bool) storage.LogConfig {
	cfg := storage.DefaultLogConfig()
	cfg.Format, cfg.SegmentBytes = format, 1500
	if meta {
		cfg.RecordType = walcodec.RecordMetadata
	}
	return cfg
}

// buildWAL writes a WAL root of V2 segments through the real storage write
// path: several segments per log, multi-batch records, idempotent producers,
// and a log-start-offset checkpoint in orders/1.
func buildWAL(t testing.TB, root string, format uint8) {
	t.Helper()
	for li, ls := range testLogs {
		l, err := storage.OpenLog(filepath.Join(root, ls.dir), ls.topic, ls.partition, logConfig(format, ls.meta), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		seq := int32(0)
		for i := 0; i < ls.appends; i++ {
			tag := fmt.Sprintf("%s-%d", strings.ReplaceAll(ls.dir, "/", "."), i)
			var payload []byte
			switch {
			case ls.meta:
				payload = testBatch(t, 1, tag, -1, 0)
			case i%3 == 2: // two batches in one payload: one WAL record with two canonical records
				payload = append(testBatch(t, 2, tag+"a", int64(100+li), seq), testBatch(t, 3, tag+"b", int64(100+li), seq+2)...)
				seq += 5
			default:
				payload = testBatch(t, 1+i%4, tag, int64(100+li), seq)
				seq += int32(1 + i%4)
			}
			if _, err := l.Append(context.Background(), payload, storage.AppendOptions{Timestamp: 1700000000000 + int64(i)}); err != nil {
				t.Fatal(err)
			}
		}
		if ls.dir == "orders/1" {
			if _, err := l.DeleteRecords(3); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// logState is what a client can observe of a log.
type logState struct {
	HWM, Start int64
	Batches    []byte // every readable batch, back to back
}

// readWAL opens every log of a WAL root read-only in effect (clean logs are
// not modified by opening) and returns its observable state by directory.
func readWAL(t testing.TB, root string) map[string]logState {
	t.Helper()
	out := map[string]logState{}
	for _, ls := range testLogs {
		l, err := storage.OpenLog(filepath.Join(root, ls.dir), ls.topic, ls.partition, logConfig(walcodec.V3, ls.meta), nil, nil)
		if err != nil {
			t.Fatalf("opening %s: %v", ls.dir, err)
		}
		st := logState{HWM: l.HighWatermark(), Start: l.LogStartOffset()}
		for off := st.Start; off < st.HWM; {
			res, err := l.Read(off, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			for b := res.Records; len(b) > 0; {
				h, err := storage.ParseBatchHeader(b)
				if err != nil {
					t.Fatal(err)
				}
				off = h.BaseOffset + int64(h.LastOffsetDelta) + 1
				b = b[h.Size():]
			}
			st.Batches = append(st.Batches, res.Records...)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		out[ls.dir] = st
	}
	return out
}

// hashTree returns path → sha256 and size of every file under root.
func hashTree(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		sum := sha256.Sum256(b)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:]) + "/" + strconv.Itoa(len(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// segmentsOf lists the segment files under root, sorted.
func segmentsOf(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if _, _, ok := walcodec.ParseSegmentName(d.Name()); ok {
				out = append(out, p)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// firstMagic is a file's first four bytes as text ("WAL2", "WAL3"), "" if shorter.
func firstMagic(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [4]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return ""
	}
	return string(b[:])
}

// recordStarts returns the byte offsets of a segment's records.
func recordStarts(t testing.TB, path string) []int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	sr := walcodec.NewSegmentReader(path, f, st.Size(), walcodec.ReadAny)
	var out []int64
	for {
		_, pos, err := sr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, pos)
	}
}

// copyTree copies a directory tree.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// captureHandler records slog messages and can cancel a context on a message.
type captureHandler struct {
	mu       sync.Mutex
	msgs     []string
	onRecord func(msg string)
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.msgs = append(h.msgs, r.Level.String()+" "+r.Message)
	cb := h.onRecord
	h.mu.Unlock()
	if cb != nil {
		cb(r.Message)
	}
	return nil
}
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

func (h *captureHandler) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.msgs...)
}
