package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chronik-stream/chronik/walcodec"
)

func goldenSegment(t *testing.T, version int) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "walcodec", "testdata", fmt.Sprintf("golden_v%d.log", version)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// recordStarts lists the byte offsets of the records of a clean segment.
func recordStarts(t *testing.T, data []byte) []int64 {
	t.Helper()
	sr := walcodec.NewSegmentReader("golden", bytes.NewReader(data), int64(len(data)), walcodec.ReadAny)
	var starts []int64
	for {
		_, pos, err := sr.Next()
		if errors.Is(err, io.EOF) {
			return starts
		}
		if err != nil {
			t.Fatal(err)
		}
		starts = append(starts, pos)
	}
}

// flipMiddle flips the middle byte and returns the offset of the record holding it,
// which must not be the final record (that would be a different case).
func flipMiddle(t *testing.T, data []byte) (bad []byte, recordAt int64) {
	t.Helper()
	starts := recordStarts(t, data)
	mid := int64(len(data) / 2)
	for _, s := range starts {
		if s <= mid {
			recordAt = s
		}
	}
	if recordAt == starts[len(starts)-1] {
		t.Fatalf("middle byte %d is in the final record", mid)
	}
	bad = bytes.Clone(data)
	bad[mid] ^= 0xff
	return bad, recordAt
}

// runRoot runs the command tree with args and returns stdout+stderr.
func runRoot(args ...string) (string, error) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestVersionCommand(t *testing.T) {
	const want = "Chronik Stream v2.0.0 (features: raft, clustering)\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := runRoot(args...)
		if err != nil || out != want {
			t.Errorf("%v: %q, %v; want %q", args, out, err, want)
		}
	}
}

// version is what -ldflags "-X main.version=..." sets; a leading "v" is not doubled.
func TestVersionLineFromLinkerValue(t *testing.T) {
	saved := version
	t.Cleanup(func() { version = saved })
	for in, want := range map[string]string{
		"2.0.1":        "Chronik Stream v2.0.1 (features: raft, clustering)",
		"v2.1.0-rc.1":  "Chronik Stream v2.1.0-rc.1 (features: raft, clustering)",
		"2.0.0-next+3": "Chronik Stream v2.0.0-next+3 (features: raft, clustering)",
	} {
		version = in
		if got := versionLine(); got != want {
			t.Errorf("version %q: %q, want %q", in, got, want)
		}
	}
}

const goldenV3Dump = `offset=0 version=3 type=Data timestamp=1700000000000 batches=2 records=5 offsets=0..4 bytes=351 raft_metadata: None
offset=351 version=3 type=Data timestamp=1700000001000 batches=1 records=4 offsets=5..8 bytes=229 raft_metadata: None
offset=580 version=3 type=Data timestamp=1700000002000 batches=1 records=1 offsets=9..9 bytes=135 raft_metadata: None
offset=715 version=3 type=Data timestamp=1700000003000 batches=1 records=2 offsets=10..11 bytes=200 raft_metadata: Some(RaftMetadata { term: 1, index: 123, leader_id: 1 })
offset=915 version=3 type=Data timestamp=1700000004000 batches=1 records=3 offsets=12..14 bytes=238 raft_metadata: Some(RaftMetadata { term: 1, index: 124, leader_id: 1 })
end of segment at offset 1153: 5 records, 6 batches, 15 kafka records
`

func TestWALDumpGolden(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "wal_0_00000001.log"), goldenSegment(t, 3))
	var out bytes.Buffer
	if err := dumpSegment(&out, path, dumpOptions{}); err != nil {
		t.Fatal(err)
	}
	if out.String() != goldenV3Dump {
		t.Fatalf("wal-dump output:\n%s\nwant:\n%s", out.String(), goldenV3Dump)
	}

	out.Reset()
	if err := dumpSegment(&out, path, dumpOptions{batches: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  batch at offset=65 base_offset=0 last_offset=2 records=3 max_timestamp=1700000000002 producer_id=-1 producer_epoch=-1 base_sequence=-1 compression=none bytes=92\n",
		"  batch at offset=1004 base_offset=12 last_offset=14 records=3 max_timestamp=1700000004004 producer_id=2000 producer_epoch=3 base_sequence=10 compression=gzip bytes=149\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--batches output lacks %q:\n%s", want, out.String())
		}
	}

	v2 := writeFile(t, filepath.Join(t.TempDir(), "wal_0_00000001.log"), goldenSegment(t, 2))
	out.Reset()
	if err := dumpSegment(&out, v2, dumpOptions{}); err != nil {
		t.Fatal(err)
	}
	if first := strings.SplitN(out.String(), "\n", 2)[0]; first != "offset=0 version=2 type=Data timestamp=1700000000000 batches=2 records=5 offsets=0..4 bytes=350 raft_metadata: None" {
		t.Fatalf("first V2 line %q", first)
	}
}

func TestWALDumpTornTail(t *testing.T) {
	data := goldenSegment(t, 3)
	path := writeFile(t, filepath.Join(t.TempDir(), "wal_0_00000001.log"), data[:len(data)-10])
	var out bytes.Buffer
	if err := dumpSegment(&out, path, dumpOptions{}); err != nil {
		t.Fatalf("a torn tail is not an error: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := "torn tail at offset 915 (will be truncated on open): 228 bytes of an incomplete final record"
	if len(lines) != 6 || lines[len(lines)-1] != want {
		t.Fatalf("output:\n%s\nwant 4 records, an end line and %q", out.String(), want)
	}
}

func TestWALDumpCorrupt(t *testing.T) {
	bad, at := flipMiddle(t, goldenSegment(t, 3))
	path := writeFile(t, filepath.Join(t.TempDir(), "wal_0_00000001.log"), bad)
	var out bytes.Buffer
	err := dumpSegment(&out, path, dumpOptions{})
	if err == nil {
		t.Fatal("wal-dump of a corrupt segment succeeded")
	}
	if want := fmt.Sprintf("InvalidChecksum at offset %d", at); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %q should contain %q and the path", err, want)
	}
	if !strings.HasPrefix(out.String(), "offset=0 ") {
		t.Fatalf("records before the damage were not printed:\n%s", out.String())
	}
	if err := dumpSegment(io.Discard, filepath.Dir(path), dumpOptions{}); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("wal-dump of a directory: %v", err)
	}
}

// dataDir lays out a small data directory: two partitions and the metadata log.
func dataDir(t *testing.T) (root string, segs []string) {
	root = filepath.Join(t.TempDir(), "wal")
	segs = []string{
		writeFile(t, filepath.Join(root, "__meta", "wal_0_00000001.log"), goldenSegment(t, 2)),
		writeFile(t, filepath.Join(root, "orders", "0", "wal_0_00000001.log"), goldenSegment(t, 2)),
		writeFile(t, filepath.Join(root, "orders", "0", "wal_0_00000002.log"), goldenSegment(t, 3)),
		writeFile(t, filepath.Join(root, "orders", "1", "wal_1_00000001.log"), goldenSegment(t, 3)),
	}
	writeFile(t, filepath.Join(root, "__meta", "raft_log", "00000000000000000001-0000000000000000.wal"), []byte("not a segment"))
	return root, segs
}

func TestWALVerifyDirectory(t *testing.T) {
	root, segs := dataDir(t)
	var out bytes.Buffer
	if err := verifyPath(&out, root, walcodec.ReadAny); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`OK   %s records=3 batches=4 kafka_records=10 offsets=0..9 v2=3 v3=0 raft=0 bytes=712
OK   %s records=3 batches=4 kafka_records=10 offsets=0..9 v2=3 v3=0 raft=0 bytes=712
OK   %s records=5 batches=6 kafka_records=15 offsets=0..14 v2=0 v3=5 raft=2 bytes=1153
OK   %s records=5 batches=6 kafka_records=15 offsets=0..14 v2=0 v3=5 raft=2 bytes=1153
total: segments=4 ok=4 torn=0 failed=0 records=16 batches=20 kafka_records=50 bytes=3730
`, segs[0], segs[1], segs[2], segs[3])
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	// A single file is verified too, whatever its name.
	out.Reset()
	if err := verifyPath(&out, segs[2], walcodec.ReadAny); err != nil || !strings.HasPrefix(out.String(), "OK   "+segs[2]) {
		t.Fatalf("single file: %v\n%s", err, out.String())
	}
}

func TestWALVerifyCorruptSegmentFails(t *testing.T) {
	root, segs := dataDir(t)
	bad, at := flipMiddle(t, goldenSegment(t, 3))
	writeFile(t, segs[2], bad)
	var out bytes.Buffer
	err := verifyPath(&out, root, walcodec.ReadAny)
	if err == nil {
		t.Fatalf("verify succeeded on a corrupt segment:\n%s", out.String())
	}
	where := fmt.Sprintf("%s: InvalidChecksum at offset %d", segs[2], at)
	if !strings.Contains(err.Error(), where) || !strings.HasPrefix(err.Error(), "wal-verify: 1 of 4 segments failed") {
		t.Fatalf("error %q should name %q", err, where)
	}
	lines := strings.Split(out.String(), "\n")
	if !strings.HasPrefix(lines[2], "FAIL "+segs[2]+" records=1 ") || !strings.Contains(lines[2], fmt.Sprintf("InvalidChecksum at offset %d", at)) {
		t.Fatalf("segment line %q", lines[2])
	}
	if !strings.HasPrefix(lines[3], "OK   "+segs[3]) || !strings.HasPrefix(lines[4], "total: segments=4 ok=3 torn=0 failed=1 ") {
		t.Fatalf("verification should go on after a bad segment:\n%s", out.String())
	}
}

func TestWALVerifyTornTailWarns(t *testing.T) {
	root, segs := dataDir(t)
	data := goldenSegment(t, 3)
	writeFile(t, segs[3], data[:len(data)-1])
	var out bytes.Buffer
	if err := verifyPath(&out, root, walcodec.ReadAny); err != nil {
		t.Fatalf("a torn tail alone must not fail: %v", err)
	}
	want := fmt.Sprintf("WARN %s records=4 batches=5 kafka_records=12 offsets=0..11 v2=0 v3=4 raft=1 bytes=1152; torn tail at offset 915 (will be truncated on open): 237 bytes of an incomplete final record\n", segs[3])
	if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "total: segments=4 ok=3 torn=1 failed=0 ") {
		t.Fatalf("output:\n%s\nwant a line\n%s", out.String(), want)
	}
}

func TestWALVerifyBadKafkaBatchFails(t *testing.T) {
	// Break a Kafka batch CRC inside a record whose WAL checksum is then recomputed:
	// the record is intact, the batch is not.
	data := goldenSegment(t, 2)
	rec, n, err := walcodec.DecodeRecord(data, walcodec.ReadAny)
	if err != nil {
		t.Fatal(err)
	}
	rec.Canonical[1].Batch[len(rec.Canonical[1].Batch)-1] ^= 1
	fixed, err := walcodec.AppendRecord(nil, &rec)
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "wal_0_00000001.log"), append(fixed, data[n:]...))
	var out bytes.Buffer
	err = verifyPath(&out, path, walcodec.ReadAny)
	if want := "bad kafka batch at offset 194 (record at offset 0)"; err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(out.String(), "FAIL ") {
		t.Fatalf("%v, want an error containing %q\n%s", err, want, out.String())
	}
}

func TestWALVerifyErrors(t *testing.T) {
	root, _ := dataDir(t)
	empty := t.TempDir()
	for _, tc := range []struct {
		name string
		path string
		mode walcodec.Mode
		want string
	}{
		{"v2-only reader on V3 segments", root, walcodec.ReadV2Only, "2 of 4 segments failed"},
		{"no segments", empty, walcodec.ReadAny, "no *.log segments under " + empty},
		{"missing path", filepath.Join(empty, "nope"), walcodec.ReadAny, "no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verifyPath(io.Discard, tc.path, tc.mode)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want an error containing %q", err, tc.want)
			}
		})
	}
	if err := verifyPath(io.Discard, root, walcodec.ReadV2Only); !strings.Contains(err.Error(), "written by v2.x, this build reads only V2") {
		t.Fatalf("V2-only failure should say why: %v", err)
	}
}

// The cobra wiring: flags, required --path, errors without the usage text.
func TestDebugCommandsThroughCobra(t *testing.T) {
	root, segs := dataDir(t)
	out, err := runRoot("debug", "wal-verify", "--path", root)
	if err != nil || !strings.Contains(out, "total: segments=4 ok=4") {
		t.Fatalf("wal-verify: %v\n%s", err, out)
	}
	out, err = runRoot("debug", "wal-dump", "--path", segs[3])
	if err != nil || !strings.Contains(out, "raft_metadata: Some(RaftMetadata { term: 1, index: 123, leader_id: 1 })") {
		t.Fatalf("wal-dump: %v\n%s", err, out)
	}
	bad, _ := flipMiddle(t, goldenSegment(t, 3))
	writeFile(t, segs[3], bad)
	out, err = runRoot("debug", "wal-verify", "--path", root, "--v2-only=false")
	if err == nil || strings.Contains(out, "Usage:") || !strings.Contains(out, "Error: wal-verify: 1 of 4 segments failed") {
		t.Fatalf("corrupt segment: %v\n%s", err, out)
	}
	if _, err := runRoot("debug", "wal-dump"); err == nil || !strings.Contains(err.Error(), `required flag(s) "path" not set`) {
		t.Fatalf("missing --path: %v", err)
	}
}
