package storage

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chronik-stream/chronik/walcodec"
)

// convertToV3 writes the V3 form of segment path to path+".v3" (the test's
// stand-in for walmigrate.ConvertSegment) and returns that path.
func convertToV3(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	sr := walcodec.NewSegmentReader(path, f, st.Size(), walcodec.ReadAny)
	for {
		rec, _, err := sr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rec.ToV3()
		if out, err = walcodec.AppendRecord(out, &rec); err != nil {
			t.Fatal(err)
		}
	}
	tmp := path + ".v3"
	if err := os.WriteFile(tmp, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return tmp
}

// segmentVersions verifies every segment file of dir and counts its V2 and V3 records.
func segmentVersions(t testing.TB, dir string) (v2, v3 int) {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		if _, _, ok := walcodec.ParseSegmentName(de.Name()); !ok {
			continue
		}
		sum, err := walcodec.VerifySegment(filepath.Join(dir, de.Name()), walcodec.ReadAny)
		if err != nil || sum.TornTail != nil {
			t.Fatalf("segment %s: %v (torn %v)", de.Name(), err, sum.TornTail)
		}
		v2 += sum.V2Records
		v3 += sum.V3Records
	}
	return v2, v3
}

func v2Config(segmentBytes int64) LogConfig {
	cfg := DefaultLogConfig()
	cfg.Format = walcodec.V2
	cfg.SegmentBytes = segmentBytes
	return cfg
}

// TestUpgradeFormat: UpgradeFormat rolls an active segment holding V2
// records (and only then), later writes are V3, and SetConfig cannot bring
// V2 back.
func TestUpgradeFormat(t *testing.T) {
	tests := []struct {
		name     string
		format   uint8 // the log's configured format
		appends  int
		wantRoll bool
	}{
		{name: "V2 data in the active segment", format: walcodec.V2, appends: 3, wantRoll: true},
		{name: "empty V2 log", format: walcodec.V2, appends: 0, wantRoll: false},
		{name: "already V3", format: walcodec.V3, appends: 2, wantRoll: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := DefaultLogConfig()
			cfg.Format = tt.format
			l := openTest(t, dir, cfg)
			for i := 0; i < tt.appends; i++ {
				mustAppend(t, l, makeBatch(t, spec{}))
			}
			before := len(l.Segments())
			if err := l.UpgradeFormat(walcodec.V3); err != nil {
				t.Fatal(err)
			}
			if err := l.UpgradeFormat(walcodec.V3); err != nil { // idempotent
				t.Fatal(err)
			}
			segs := l.Segments()
			if rolled := len(segs) > before; rolled != tt.wantRoll {
				t.Fatalf("segments %d → %d, want roll %v", before, len(segs), tt.wantRoll)
			}
			l.SetConfig(v2Config(0))
			if f := l.Config().Format; f != walcodec.V3 {
				t.Fatalf("format after SetConfig(V2) = %d, want 3", f)
			}
			mustAppend(t, l, makeBatch(t, spec{}))
			segs = l.Segments()
			active := segs[len(segs)-1]
			if !active.Active || active.FirstVersion != walcodec.V3 || active.LastVersion != walcodec.V3 {
				t.Fatalf("active segment after upgrade: %+v", active)
			}
			for _, s := range segs[:len(segs)-1] {
				if s.Active || (s.HasVersion(walcodec.V2) && s.HasVersion(walcodec.V3)) {
					t.Fatalf("sealed segment %+v mixes formats or is active", s)
				}
			}
			if v2, _ := segmentVersions(t, dir); v2 != map[bool]int{true: tt.appends, false: 0}[tt.format == walcodec.V2] {
				t.Fatalf("%d V2 records on disk, want the %d written before the upgrade", v2, tt.appends)
			}
		})
	}
}

// TestReplaceSegmentWhileReading converts every sealed V2 segment of a log
// while readers (Read and Scan) and a writer keep going: every read returns
// exactly the batches appended, the files end up V3 and a reopened log holds
// the same data.
func TestReplaceSegmentWhileReading(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir, v2Config(4096))
	var (
		mu   sync.Mutex
		sent [][]byte // batch i holds offset i
	)
	appendOne := func(tag string) {
		b := makeBatch(t, spec{tag: tag, valueSize: 100})
		res := mustAppend(t, l, b)
		mu.Lock()
		defer mu.Unlock()
		if res.BaseOffset != int64(len(sent)) {
			t.Errorf("batch %s at offset %d, want %d", tag, res.BaseOffset, len(sent))
		}
		sent = append(sent, b)
	}
	for i := 0; i < 300; i++ {
		appendOne("pre")
	}
	if err := l.UpgradeFormat(walcodec.V3); err != nil {
		t.Fatal(err)
	}
	check := func(base int64, stored []byte) {
		mu.Lock()
		var want []byte
		if base < int64(len(sent)) {
			want = sent[base]
		}
		mu.Unlock()
		if want == nil { // appended by the writer goroutine, not recorded yet
			return
		}
		if len(stored) != len(want) || !bytes.Equal(stored[8:], want[8:]) {
			t.Errorf("batch at offset %d differs from what was appended", base)
		}
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads, scans atomic.Int64
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for off := int64(0); ; off = (off + 7) % 300 {
				select {
				case <-stop:
					return
				default:
				}
				res, err := l.Read(off, 1500)
				if err != nil {
					t.Errorf("Read(%d): %v", off, err)
					return
				}
				for b, base := res.Records, off; len(b) > 0; base++ {
					h, err := ParseBatchHeader(b)
					if err != nil {
						t.Errorf("Read(%d): batch at offset %d: %v", off, base, err)
						return
					}
					check(base, b[:h.Size()])
					b = b[h.Size():]
				}
				reads.Add(1)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			next := int64(0)
			err := l.Scan(0, func(c walcodec.CanonicalRecord) error {
				if c.BaseOffset != next {
					t.Errorf("scan: batch at %d, want %d", c.BaseOffset, next)
				}
				check(c.BaseOffset, c.Batch)
				next = c.LastOffset() + 1
				return nil
			})
			if err != nil {
				t.Errorf("Scan: %v", err)
				return
			}
			scans.Add(1)
		}
	}()
	wg.Add(1)
	go func() { // the log keeps taking appends
		defer wg.Done()
		for i := 0; i < 100; i++ {
			appendOne("during")
		}
	}()

	converted := 0
	for _, s := range l.Segments() {
		if s.Active || !s.HasVersion(walcodec.V2) {
			continue
		}
		if err := l.ReplaceSegment(s.Path, s.Size, convertToV3(t, s.Path)); err != nil {
			t.Fatal(err)
		}
		converted++
	}
	waitFor(t, "reads and scans after the conversion", func() bool { return reads.Load() > 50 && scans.Load() > 2 })
	close(stop)
	wg.Wait()
	if converted < 5 {
		t.Fatalf("only %d segments converted; the test wants several", converted)
	}
	if v2, v3 := segmentVersions(t, dir); v2 != 0 || v3 == 0 {
		t.Fatalf("after conversion: %d V2 and %d V3 records on disk", v2, v3)
	}
	hwm := l.HighWatermark()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openTest(t, dir, v2Config(4096))
	if l2.HighWatermark() != hwm || hwm != int64(len(sent)) {
		t.Fatalf("reopened high watermark %d, before %d, appended %d", l2.HighWatermark(), hwm, len(sent))
	}
	n := int64(0)
	if err := l2.Scan(0, func(c walcodec.CanonicalRecord) error { check(c.BaseOffset, c.Batch); n++; return nil }); err != nil || n != hwm {
		t.Fatalf("reopened scan: %d batches, %v", n, err)
	}
}

// TestReplaceSegmentRefuses: a replacement that is not the sealed segment
// as listed changes nothing and removes the temporary file.
func TestReplaceSegmentRefuses(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, segs []SegmentInfo) (path string, size int64, tmp string)
		changed bool // ErrSegmentChanged expected
	}{
		{name: "active segment", changed: true, prepare: func(t *testing.T, segs []SegmentInfo) (string, int64, string) {
			a := segs[len(segs)-1]
			return a.Path, a.Size, convertToV3(t, a.Path)
		}},
		{name: "size differs from the listing", changed: true, prepare: func(t *testing.T, segs []SegmentInfo) (string, int64, string) {
			return segs[0].Path, segs[0].Size - 1, convertToV3(t, segs[0].Path)
		}},
		{name: "other batches", changed: true, prepare: func(t *testing.T, segs []SegmentInfo) (string, int64, string) {
			return segs[0].Path, segs[0].Size, convertToV3(t, segs[1].Path)
		}},
		{name: "unknown path", changed: true, prepare: func(t *testing.T, segs []SegmentInfo) (string, int64, string) {
			return segs[0].Path + "x", segs[0].Size, convertToV3(t, segs[0].Path)
		}},
		{name: "damaged replacement", prepare: func(t *testing.T, segs []SegmentInfo) (string, int64, string) {
			tmp := convertToV3(t, segs[0].Path)
			b, err := os.ReadFile(tmp)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)-3] ^= 0xff
			if err := os.WriteFile(tmp, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return segs[0].Path, segs[0].Size, tmp
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openTest(t, dir, v2Config(1024))
			for i := 0; i < 40; i++ {
				mustAppend(t, l, makeBatch(t, spec{valueSize: 100}))
			}
			segs := l.Segments()
			if len(segs) < 3 {
				t.Fatalf("%d segments, want at least 3", len(segs))
			}
			orig, err := os.ReadFile(segs[0].Path)
			if err != nil {
				t.Fatal(err)
			}
			path, size, tmp := tt.prepare(t, segs)
			err = l.ReplaceSegment(path, size, tmp)
			if err == nil || errors.Is(err, ErrSegmentChanged) != tt.changed {
				t.Fatalf("ReplaceSegment = %v, want an error (ErrSegmentChanged: %v)", err, tt.changed)
			}
			if _, serr := os.Stat(tmp); !errors.Is(serr, os.ErrNotExist) {
				t.Fatalf("temporary file %s left behind: %v", tmp, serr)
			}
			if now, _ := os.ReadFile(segs[0].Path); !bytes.Equal(now, orig) {
				t.Fatal("the segment file changed")
			}
			res, err := l.Read(0, 1<<20)
			if err != nil || len(splitBatches(t, res.Records)) == 0 {
				t.Fatalf("Read after a refused replacement: %v", err)
			}
		})
	}
}

// TestManagerFormatPin: a pinned root makes every log it opens write V3 with
// a configured V2, across a restart, logged once; SetConfig cannot lower it;
// a pin never goes down; a garbled pin fails Open.
func TestManagerFormatPin(t *testing.T) {
	root := t.TempDir()
	lg, buf := newCapture()
	m := NewManager(root, lg, nil)
	if f, err := m.PinnedFormat(); err != nil || f != 0 {
		t.Fatalf("PinnedFormat before pinning = %d, %v", f, err)
	}
	before, err := m.Open("a", 0, v2Config(0))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.PinFormat(walcodec.V3); err != nil {
		t.Fatal(err)
	}
	if before.Config().Format != walcodec.V2 {
		t.Fatal("PinFormat changed a log that was already open")
	}
	for p := int32(1); p <= 2; p++ {
		l, err := m.Open("a", p, v2Config(0))
		if err != nil {
			t.Fatal(err)
		}
		if l.Config().Format != walcodec.V3 {
			t.Fatalf("partition %d opened after the pin writes format %d", p, l.Config().Format)
		}
		l.SetConfig(v2Config(0))
		if l.Config().Format != walcodec.V3 {
			t.Fatalf("partition %d: SetConfig lowered the pinned format", p)
		}
	}
	if err := m.PinFormat(walcodec.V2); err != nil {
		t.Fatal(err)
	}
	if f, err := ReadFormatPin(root); err != nil || f != walcodec.V3 {
		t.Fatalf("pin after PinFormat(2) = %d, %v: a pin never goes down", f, err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "WAL format pinned"); n != 1 {
		t.Fatalf("override logged %d times, want once:\n%s", n, buf.String())
	}

	m2 := NewManager(root, nil, nil) // a restart
	defer m2.Close()
	l, err := m2.Open("a", 0, v2Config(0))
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, makeBatch(t, spec{}))
	if v2, v3 := segmentVersions(t, m2.Dir("a", 0)); v2 != 0 || v3 != 1 {
		t.Fatalf("after a restart with the pin: %d V2 and %d V3 records", v2, v3)
	}

	if err := os.WriteFile(filepath.Join(root, FormatPinFile), []byte("two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m3 := NewManager(root, nil, nil)
	defer m3.Close()
	if _, err := m3.Open("b", 0, v2Config(0)); err == nil || !strings.Contains(err.Error(), FormatPinFile) {
		t.Fatalf("Open with a garbled pin = %v, want an error naming %s", err, FormatPinFile)
	}
}

// TestReadRetriesAfterSwap: a Read or Scan whose segment file is swapped by
// ReplaceSegment between its lookup and its pread (the old file closed under
// it) looks the offset up again and returns the right bytes.
func TestReadRetriesAfterSwap(t *testing.T) {
	for _, mode := range []string{"read", "scan"} {
		t.Run(mode, func(t *testing.T) {
			l := openTest(t, t.TempDir(), v2Config(1024))
			var sent [][]byte
			for i := 0; i < 30; i++ {
				b := makeBatch(t, spec{valueSize: 100, tag: mode})
				mustAppend(t, l, b)
				sent = append(sent, b)
			}
			segs := l.Segments()
			target := segs[1] // sealed
			calls := 0
			l.readHook = func() {
				calls++
				if calls == 1 {
					if err := l.ReplaceSegment(target.Path, target.Size, convertToV3(t, target.Path)); err != nil {
						t.Fatal(err)
					}
				}
			}
			defer func() { l.readHook = nil }()
			first := int64(segs[0].Batches) // first offset of target
			switch mode {
			case "read":
				res, err := l.Read(first, 1)
				if err != nil {
					t.Fatalf("Read across the swap: %v", err)
				}
				sameBatch(t, res.Records, sent[first], first)
				if calls != 2 {
					t.Fatalf("%d lookups, want 2 (the first met the closed file)", calls)
				}
			case "scan":
				n := int64(0)
				err := l.Scan(0, func(c walcodec.CanonicalRecord) error {
					if c.BaseOffset != n {
						return errors.New("out of order or repeated batch")
					}
					sameBatch(t, c.Batch, sent[n], n)
					n++
					return nil
				})
				if err != nil || n != int64(len(sent)) {
					t.Fatalf("Scan across the swap: %d batches, %v", n, err)
				}
				if calls < len(segs)+1 {
					t.Fatalf("%d preads for %d segments: the swapped one was not read again", calls, len(segs))
				}
			}
			if s := l.Segments()[1]; s.FirstVersion != walcodec.V3 {
				t.Fatalf("segment not swapped: %+v", s)
			}
		})
	}
}
