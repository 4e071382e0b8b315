package mirror

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := checkpointFile{Version: stateVersion, Records: 42, Partitions: []partitionCheckpoint{
		{Topic: "orders", Partition: 1, NextSourceOffset: 17, NextDestOffset: 12, SourceLogStart: 5, SourceHighWatermark: 20,
			SyncPoints: [][2]int64{{5, 0}, {10, 5}}},
	}}
	if err := writeJSON(dir, "mirror-1"+checkpointSuffix, want); err != nil {
		t.Fatal(err)
	}
	got, err := loadCheckpoint(dir, "mirror-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Records != 42 || len(got.Partitions) != 1 {
		t.Fatalf("loaded %+v", got)
	}
	m := got.Partitions[0].offsetMap()
	if d, ok := m.translate(12); !ok || d != 7 {
		t.Fatalf("translate(12) after reload = %d, %v; want 7", d, ok)
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(tmps) != 0 {
		t.Fatalf("temp files left: %v", tmps)
	}
	// Missing files are empty state.
	if c, err := loadCheckpoint(dir, "mirror-9"); err != nil || len(c.Partitions) != 0 {
		t.Fatalf("missing checkpoint = %+v, %v", c, err)
	}
	if d, err := loadDefs(dir); err != nil || d.NextID != 1 || len(d.Mirrors) != 0 {
		t.Fatalf("missing mirrors.json = %+v, %v", d, err)
	}
}

func TestLoadRejectsBadState(t *testing.T) {
	tests := []struct {
		name, file, body, want string
	}{
		{"corrupt checkpoint", "mirror-1" + checkpointSuffix, "{", "decoding"},
		{"checkpoint version", "mirror-1" + checkpointSuffix, `{"version": 9}`, "unsupported version 9"},
		{"sync points not increasing", "mirror-1" + checkpointSuffix,
			`{"version":1,"partitions":[{"topic":"t","partition":0,"next_source_offset":9,"next_dest_offset":9,"sync_points":[[5,5],[4,4]]}]}`,
			"t[0]: sync points not increasing"},
		{"next before last sync point", "mirror-1" + checkpointSuffix,
			`{"version":1,"partitions":[{"topic":"t","partition":2,"next_source_offset":1,"next_dest_offset":9,"sync_points":[[5,5]]}]}`,
			"t[2]: next offsets"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := loadCheckpoint(dir, "mirror-1")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("error = %v, want one containing %q and the path", err, tc.want)
			}
		})
	}
}

func TestOpenRestoresMirrors(t *testing.T) {
	dir := t.TempDir()
	defs := defsFile{Version: stateVersion, NextID: 3, Mirrors: []mirrorDef{
		{ID: "mirror-1", Source: "blue:9092", TopicRegex: "orders", State: stateStopped},
		{ID: "mirror-2", Source: "blue:9092", TopicRegex: "", State: stateFailed, Error: "destination lost records"},
	}}
	if err := writeJSON(dir, defsFileName, defs); err != nil {
		t.Fatal(err)
	}
	cp := checkpointFile{Version: stateVersion, Records: 3, Partitions: []partitionCheckpoint{
		{Topic: "orders", Partition: 0, NextSourceOffset: 3, NextDestOffset: 3, SourceLogStart: 0, SourceHighWatermark: 5, SyncPoints: [][2]int64{{0, 0}}},
	}}
	if err := writeJSON(dir, "mirror-1"+checkpointSuffix, cp); err != nil {
		t.Fatal(err)
	}
	m, err := Open(Config{Dir: dir, LocalBootstrap: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	st := m.Status()
	if len(st) != 2 || st[0].ID != "mirror-1" || st[0].State != stateStopped || st[0].Records != 3 || st[0].Lag != 2 ||
		st[1].State != stateFailed || !strings.Contains(st[1].Error, "destination lost records") {
		t.Fatalf("status after Open = %+v", st)
	}
	if d, ok := m.Translate("mirror-1", "orders", 0, 2); !ok || d != 2 {
		t.Fatalf("Translate = %d, %v", d, ok)
	}
	if _, ok := m.Translate("mirror-7", "orders", 0, 2); ok {
		t.Fatal("Translate of an unknown mirror succeeded")
	}
}
