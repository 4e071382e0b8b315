package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-stream/chronik/broker/meta"
	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/chronik-stream/chronik/walcodec"
)

func batch(t testing.TB, n int, tag string) []byte {
	t.Helper()
	var recs []byte
	for i := 0; i < n; i++ {
		r := kmsg.Record{OffsetDelta: int32(i), Key: []byte(tag), Value: []byte(fmt.Sprintf("%s-%d", tag, i))}
		body := r.AppendTo(nil)
		r.Length = int32(len(body) - 1)
		recs = r.AppendTo(recs)
	}
	b := kmsg.RecordBatch{PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(n - 1), FirstTimestamp: 1, MaxTimestamp: 1,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(n), Records: recs}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

// dataDir is a broker data directory written through meta and storage.
type dataDir struct {
	dir  string
	logs *storage.Manager
	meta *meta.Store
}

func openDataDir(t testing.TB, dir string, format uint8) *dataDir {
	t.Helper()
	st, err := meta.Open(filepath.Join(dir, "wal", "__meta"), format, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &dataDir{dir: dir, logs: storage.NewManager(filepath.Join(dir, "wal"), nil, nil), meta: st}
}

func (d *dataDir) close(t testing.TB) {
	t.Helper()
	if err := errors.Join(d.meta.Close(), d.logs.Close()); err != nil {
		t.Fatal(err)
	}
}

func (d *dataDir) log(t testing.TB, topic string, p int32, format uint8) *storage.Log {
	t.Helper()
	cfg := storage.DefaultLogConfig()
	cfg.Format, cfg.SegmentBytes = format, 1024
	l, err := d.logs.Open(topic, p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// populate creates two topics with data, a checkpoint and group offsets.
func populate(t testing.TB, d *dataDir, format uint8) {
	t.Helper()
	ctx := context.Background()
	if _, err := d.meta.CreateTopic(ctx, "orders", 2, 1, map[string]string{"retention.ms": "-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.meta.CreateTopic(ctx, "events", 1, 1, nil); err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 2; p++ {
		l := d.log(t, "orders", p, format)
		for i := 0; i < 10+int(p); i++ {
			if _, err := l.Append(ctx, batch(t, 1+i%3, fmt.Sprintf("o%d-%d", p, i)), storage.AppendOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	l := d.log(t, "events", 0, format)
	for i := 0; i < 5; i++ {
		if _, err := l.Append(ctx, batch(t, 2, fmt.Sprintf("e%d", i)), storage.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.DeleteRecords(4); err != nil {
		t.Fatal(err)
	}
	if err := d.meta.CommitOffsets(ctx, "g1", []meta.OffsetCommit{{Topic: "orders", Partition: 0, Offset: 7, Metadata: "m"}, {Topic: "events", Partition: 0, Offset: 6}}); err != nil {
		t.Fatal(err)
	}
}

// treeHashes maps every file under root to its sha256.
func treeHashes(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		s := sha256.Sum256(b)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(s[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func writeBackup(t testing.TB, src *Source) ([]byte, *Manifest) {
	t.Helper()
	var buf bytes.Buffer
	m, err := Write(context.Background(), &buf, src, Options{ChronikVersion: "v2.0.0-test", WALFormat: 3})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), m
}

func TestOfflineBackupRestore(t *testing.T) {
	for _, format := range []uint8{walcodec.V2, walcodec.V3} {
		t.Run(fmt.Sprintf("v%d", format), func(t *testing.T) {
			dir := t.TempDir()
			d := openDataDir(t, dir, format)
			populate(t, d, format)
			d.close(t)
			want := treeHashes(t, filepath.Join(dir, "wal"))

			src, err := FromDataDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			archive, m := writeBackup(t, src)
			if err := src.Close(); err != nil {
				t.Fatal(err)
			}

			// Manifest content.
			if m.FormatVersion != 1 || m.ChronikVersion != "v2.0.0-test" || m.WALFormat != format {
				t.Fatalf("manifest header %+v", m)
			}
			if len(m.Topics) != 2 || m.Topics[0].Name != "events" || m.Topics[1].Name != "orders" ||
				m.Topics[1].Partitions != 2 || m.Topics[1].Configs["retention.ms"] != "-1" {
				t.Fatalf("manifest topics %+v", m.Topics)
			}
			wantParts := []Partition{
				{Topic: "events", Partition: 0, HighWatermark: 10, LogStartOffset: 4},
				{Topic: "orders", Partition: 0, HighWatermark: 19},
				{Topic: "orders", Partition: 1, HighWatermark: 21},
			}
			for i := range m.Partitions {
				m.Partitions[i].Segments, m.Partitions[i].Bytes = 0, 0
			}
			if !reflect.DeepEqual(m.Partitions, wantParts) {
				t.Fatalf("manifest partitions %+v, want %+v", m.Partitions, wantParts)
			}
			wantGroups := []Group{{Name: "g1", Offsets: []GroupOffset{{Topic: "events", Partition: 0, Offset: 6}, {Topic: "orders", Partition: 0, Offset: 7, Metadata: "m"}}}}
			if !reflect.DeepEqual(m.Groups, wantGroups) {
				t.Fatalf("manifest groups %+v", m.Groups)
			}
			if len(m.Files) != len(want) {
				t.Fatalf("manifest lists %d files, the data dir has %d", len(m.Files), len(want))
			}
			for _, f := range m.Files {
				if want[strings.TrimPrefix(f.Path, "wal/")] != f.SHA256 {
					t.Fatalf("manifest hash of %s differs from the file", f.Path)
				}
			}
			// Layout: what `tar -C <dir> -czf … wal` would hold, plus the manifest.
			names := archiveNames(t, archive)
			if !contains(names, "wal/__meta/wal_0_00000001.log") || !contains(names, "wal/orders/0/") ||
				!contains(names, "wal/events/0/log-start-offset") || names[len(names)-1] != ManifestName {
				t.Fatalf("archive entries %v", names)
			}
			if _, err := Verify(context.Background(), bytes.NewReader(archive)); err != nil {
				t.Fatalf("Verify: %v", err)
			}

			target := filepath.Join(t.TempDir(), "restored")
			sum, err := Restore(context.Background(), bytes.NewReader(archive), target)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Topics != 2 || sum.Partitions != 3 || sum.Groups != 1 || sum.Files != len(want) || sum.Bytes != m.Bytes() {
				t.Fatalf("summary %+v", sum)
			}
			if got := treeHashes(t, filepath.Join(target, "wal")); !reflect.DeepEqual(got, want) {
				t.Fatalf("restored files differ")
			}
			if leftovers, _ := filepath.Glob(target + ".tmp-*"); len(leftovers) > 0 {
				t.Fatalf("temporary directories left: %v", leftovers)
			}
			// The restored directory opens with the same state.
			r := openDataDir(t, target, format)
			defer r.close(t)
			if tp, ok := r.meta.Topic("orders"); !ok || tp.Partitions != 2 {
				t.Fatalf("restored topics %+v", r.meta.Topics())
			}
			if oc, ok := r.meta.FetchOffset("g1", "orders", 0); !ok || oc.Offset != 7 {
				t.Fatalf("restored offset %+v", oc)
			}
			if l := r.log(t, "events", 0, format); l.HighWatermark() != 10 || l.LogStartOffset() != 4 {
				t.Fatalf("restored events/0: hwm %d start %d", l.HighWatermark(), l.LogStartOffset())
			}
		})
	}
}

func archiveNames(t testing.TB, archive []byte) []string {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
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

// TestOnlineCutBackup backs up a Manager and metadata log while producers
// append: each restored log ends exactly at a captured high watermark, holds
// a prefix of what was written, and the manifest matches the restored data.
func TestOnlineCutBackup(t *testing.T) {
	dir := t.TempDir()
	d := openDataDir(t, dir, walcodec.V3)
	populate(t, d, walcodec.V3)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for p := int32(0); p < 2; p++ {
		l := d.log(t, "orders", p, walcodec.V3)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				if _, err := l.Append(ctx, batch(t, 2, fmt.Sprintf("live%d-%d", p, i)), storage.AppendOptions{}); err != nil && ctx.Err() == nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		}()
	}
	// A consumer-like committer: it commits orders/0's high watermark after
	// reading it, so in any consistent cut the committed offset is at most
	// the captured high watermark of orders/0.
	l0, _ := d.logs.Get("orders", 0)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			_ = d.meta.CommitOffsets(ctx, "live", []meta.OffsetCommit{{Topic: "orders", Partition: 0, Offset: l0.HighWatermark()}})
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for l0.HighWatermark() < 200 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if hwm := l0.HighWatermark(); hwm < 200 {
		t.Fatalf("the live producer reached only %d records in 10 s: the cut would not be taken under load", hwm)
	}
	cut, err := d.logs.CaptureCut(d.meta.Log())
	if err != nil {
		t.Fatal(err)
	}
	src, err := FromCut(cut, filepath.Join(dir, "wal"), "test")
	if err != nil {
		t.Fatal(err)
	}
	archive, m := writeBackup(t, src)
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	cancel()
	wg.Wait()
	d.close(t)

	target := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(context.Background(), bytes.NewReader(archive), target); err != nil {
		t.Fatal(err)
	}
	r := openDataDir(t, target, walcodec.V3)
	defer r.close(t)
	for _, p := range m.Partitions {
		l := r.log(t, p.Topic, p.Partition, walcodec.V3)
		if l.HighWatermark() != p.HighWatermark || l.LogStartOffset() != p.LogStartOffset {
			t.Fatalf("%s/%d restored at %d..%d, manifest says %d..%d", p.Topic, p.Partition, l.LogStartOffset(), l.HighWatermark(), p.LogStartOffset, p.HighWatermark)
		}
	}
	oc, ok := r.meta.FetchOffset("live", "orders", 0)
	var hwm0 int64 = -1
	for _, p := range m.Partitions {
		if p.Topic == "orders" && p.Partition == 0 {
			hwm0 = p.HighWatermark
		}
	}
	if !ok || oc.Offset > hwm0 {
		t.Fatalf("restored committed offset %+v (found %v) against the captured orders/0 high watermark %d", oc, ok, hwm0)
	}
	for _, g := range m.Groups {
		if g.Name == "live" && g.Offsets[0].Offset != oc.Offset {
			t.Fatalf("manifest offset %d, restored %d", g.Offsets[0].Offset, oc.Offset)
		}
	}
}

func TestRestoreRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	d := openDataDir(t, dir, walcodec.V3)
	populate(t, d, walcodec.V3)
	d.close(t)
	src, err := FromDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	archive, _ := writeBackup(t, src)
	src.Close()

	target := t.TempDir()
	if err := os.WriteFile(filepath.Join(target, "keep.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Restore(context.Background(), bytes.NewReader(archive), target)
	if err == nil || !strings.Contains(err.Error(), "is not empty (it holds keep.txt)") {
		t.Fatalf("restore into a non-empty dir: %v", err)
	}
	// An existing empty directory is fine.
	empty := t.TempDir()
	if _, err := Restore(context.Background(), bytes.NewReader(archive), empty); err != nil {
		t.Fatalf("restore into an empty dir: %v", err)
	}
}

// rewrite copies an archive through fn, which may change each entry.
func rewrite(t testing.TB, archive []byte, fn func(h *tar.Header, body []byte) (*tar.Header, []byte)) []byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out bytes.Buffer
	gw := gzip.NewWriter(&out)
	tw := tar.NewWriter(gw)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		h, body = fn(h, body)
		if h == nil {
			continue
		}
		h.Size = int64(len(body))
		if h.Typeflag == tar.TypeDir {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write(body)
	}
	tw.Close()
	gw.Close()
	return out.Bytes()
}

func TestRestoreRefusesDamagedArchives(t *testing.T) {
	dir := t.TempDir()
	d := openDataDir(t, dir, walcodec.V3)
	populate(t, d, walcodec.V3)
	d.close(t)
	src, err := FromDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	archive, _ := writeBackup(t, src)
	src.Close()

	tests := []struct {
		name string
		fn   func(h *tar.Header, body []byte) (*tar.Header, []byte)
		want string
	}{
		{"flipped byte", func(h *tar.Header, b []byte) (*tar.Header, []byte) {
			if h.Name == "wal/orders/0/wal_0_00000001.log" {
				b = bytes.Clone(b)
				b[40] ^= 1
			}
			return h, b
		}, "wal/orders/0/wal_0_00000001.log has sha256"},
		{"missing file", func(h *tar.Header, b []byte) (*tar.Header, []byte) {
			if h.Name == "wal/events/0/log-start-offset" {
				return nil, nil
			}
			return h, b
		}, "wal/events/0/log-start-offset is listed in the manifest but missing"},
		{"extra file", func(h *tar.Header, b []byte) (*tar.Header, []byte) {
			if h.Name == "wal/events/0/log-start-offset" {
				h.Name = "wal/events/0/extra"
			}
			return h, b
		}, "not in the manifest"},
		{"path traversal", func(h *tar.Header, b []byte) (*tar.Header, []byte) {
			if h.Name == "wal/events/0/log-start-offset" {
				h.Name = "wal/../../evil"
			}
			return h, b
		}, "leaves the data directory"},
		{"symlink", func(h *tar.Header, b []byte) (*tar.Header, []byte) {
			if h.Name == "wal/events/0/log-start-offset" {
				h.Typeflag, h.Linkname, b = tar.TypeSymlink, "/etc/passwd", nil
			}
			return h, b
		}, "unsupported type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad := rewrite(t, archive, tc.fn)
			parent := t.TempDir()
			target := filepath.Join(parent, "data")
			_, err := Restore(context.Background(), bytes.NewReader(bad), target)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if des, _ := os.ReadDir(parent); len(des) != 0 {
				t.Fatalf("a failed restore left %v behind", des[0].Name())
			}
			if _, err := Verify(context.Background(), bytes.NewReader(bad)); err == nil {
				t.Fatalf("Verify accepted the damaged archive")
			}
		})
	}
}

// TestRestoreManualTar restores what the migration guide's manual backup
// produces: `tar -czf backup.tar.gz /var/lib/chronik/data/wal …` (absolute
// prefix, no manifest, a config file alongside).
func TestRestoreManualTar(t *testing.T) {
	dir := t.TempDir()
	d := openDataDir(t, dir, walcodec.V2)
	populate(t, d, walcodec.V2)
	d.close(t)
	want := treeHashes(t, filepath.Join(dir, "wal"))

	var buf bytes.Buffer
	gw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gw)
	var paths []string
	_ = filepath.WalkDir(filepath.Join(dir, "wal"), func(p string, de fs.DirEntry, err error) error {
		paths = append(paths, p)
		return err
	})
	sort.Strings(paths)
	for _, p := range paths {
		rel, _ := filepath.Rel(dir, p)
		name := "var/lib/chronik/data/" + filepath.ToSlash(rel)
		st, _ := os.Stat(p)
		if st.IsDir() {
			_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755})
			continue
		}
		b, _ := os.ReadFile(p)
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(b))})
		_, _ = tw.Write(b)
	}
	cfg := []byte("kafka_port = 9092\n")
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "var/lib/chronik/chronik.toml", Mode: 0o644, Size: int64(len(cfg))})
	_, _ = tw.Write(cfg)
	tw.Close()
	gw.Close()

	target := filepath.Join(t.TempDir(), "data")
	sum, err := Restore(context.Background(), bytes.NewReader(buf.Bytes()), target)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Manifest != nil || sum.Topics != 2 || sum.Partitions != 3 || !contains(sum.Skipped, "var/lib/chronik/chronik.toml") || len(sum.Warnings) == 0 {
		t.Fatalf("summary %+v", sum)
	}
	if got := treeHashes(t, filepath.Join(target, "wal")); !reflect.DeepEqual(got, want) {
		t.Fatalf("restored files differ")
	}
}

func TestBackupRefusesCorruptSegment(t *testing.T) {
	dir := t.TempDir()
	d := openDataDir(t, dir, walcodec.V3)
	populate(t, d, walcodec.V3)
	d.close(t)
	seg := filepath.Join(dir, "wal", "orders", "0", "wal_0_00000001.log")
	b, _ := os.ReadFile(seg)
	b[30] ^= 0xff
	_ = os.WriteFile(seg, b, 0o644)
	src, err := FromDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	_, err = Write(context.Background(), io.Discard, src, Options{})
	var ce *walcodec.CorruptError
	if !errors.As(err, &ce) || ce.Path != "wal/orders/0/wal_0_00000001.log" {
		t.Fatalf("backup of a corrupt segment: %v", err)
	}
}

// TestOnlineBackupKeepsFormatPin: the WAL format pin of a live migration is part of an online
// backup, so the restored directory writes the same format as the node it came from.
func TestOnlineBackupKeepsFormatPin(t *testing.T) {
	dir := t.TempDir()
	d := openDataDir(t, dir, walcodec.V3)
	l := d.log(t, "orders", 0, walcodec.V3)
	if _, err := l.Append(context.Background(), batch(t, 3, "pinned"), storage.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	walDir := filepath.Join(dir, "wal")
	if err := storage.WriteFormatPin(walDir, walcodec.V3); err != nil {
		t.Fatal(err)
	}
	cut, err := d.logs.CaptureCut(d.meta.Log())
	if err != nil {
		t.Fatal(err)
	}
	src, err := FromCut(cut, walDir, "test")
	if err != nil {
		t.Fatal(err)
	}
	archive, _ := writeBackup(t, src)
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	d.close(t)
	target := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(context.Background(), bytes.NewReader(archive), target); err != nil {
		t.Fatal(err)
	}
	if pin, err := storage.ReadFormatPin(filepath.Join(target, "wal")); err != nil || pin != walcodec.V3 {
		t.Fatalf("restored pin = %d, %v; want 3", pin, err)
	}
}
