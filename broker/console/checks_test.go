package console

import (
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chronik-stream/chronik/api/consolepb"
	"github.com/chronik-stream/chronik/walcodec"
)

func writeSegment(t *testing.T, dir string, partition int32, seq uint64, magic uint32, size int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	if size >= 4 {
		binary.BigEndian.PutUint32(b, magic)
	}
	if err := os.WriteFile(filepath.Join(dir, walcodec.SegmentName(partition, seq)), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestScanWALAndStandaloneMigration(t *testing.T) {
	wal := filepath.Join(t.TempDir(), "wal")
	if m := StandaloneMigration(1, wal, 3); m.State != "done" || m.Total != 0 {
		t.Fatalf("missing WAL dir: %+v", m)
	}
	writeSegment(t, filepath.Join(wal, "__meta"), 0, 1, walcodec.MagicV2, 100)
	writeSegment(t, filepath.Join(wal, "orders", "0"), 0, 1, walcodec.MagicV2, 300)
	writeSegment(t, filepath.Join(wal, "orders", "0"), 0, 2, walcodec.MagicV3, 50)
	writeSegment(t, filepath.Join(wal, "orders", "0"), 0, 3, 0, 0)
	writeSegment(t, filepath.Join(wal, "orders", "1"), 1, 1, 0xdeadbeef, 8)
	if err := os.WriteFile(filepath.Join(wal, "orders", "0", "log-start-offset"), []byte("WAL2"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ScanWAL(wal)
	if err != nil {
		t.Fatal(err)
	}
	if c != (WALCounts{V2: 2, V3: 1, Empty: 1, Other: 1, Bytes: 458, Largest: 300}) || c.Total() != 4 {
		t.Fatalf("ScanWAL = %+v", c)
	}
	m := StandaloneMigration(7, wal, 3)
	if m.NodeID != 7 || m.SegmentsV3 != 1 || m.Total != 4 || m.State != "idle" || !strings.Contains(m.Detail, "2 V2 segments left") ||
		!strings.Contains(m.Detail, "unknown first record") {
		t.Fatalf("StandaloneMigration = %+v", m)
	}
	if m := StandaloneMigration(7, wal, 2); !strings.Contains(m.Detail, "wal_format = 2") {
		t.Fatalf("StandaloneMigration wal_format 2 = %+v", m)
	}
}

func TestRunValidationOutcomes(t *testing.T) {
	src := newFakeSource(t)
	src.setHWM("orders", 0, 10)
	src.setHWM("orders", 1, 20)
	now := time.Now()
	clock := func() time.Time { return now }
	src.events = NewEvents(100, clock)
	s, err := NewServer(Config{Source: src, AdminToken: testToken, Now: clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	s.smp.sample() // observe the leader
	ctx := testCtx(t)

	resp, err := s.RunValidation(ctx, &consolepb.RunValidationRequest{
		ExpectedNodes:  3,
		ExpectedTopics: []string{"orders", "payments"},
		ExpectedHighWatermarks: []*consolepb.PartitionOffset{
			{Topic: "orders", Partition: 0, Offset: 10}, {Topic: "orders", Partition: 1, Offset: 21}, {Topic: "gone", Partition: 0, Offset: 1},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*consolepb.Check{}
	for _, c := range resp.GetChecks() {
		got[c.GetId()] = c
	}
	for _, tt := range []struct {
		id     string
		status consolepb.CheckStatus
		detail string
	}{
		{"nodes_joined", fail, "1 member, expected 3"},
		{"leader_stable", warn, "node 1 leads, but only for 0s"},
		{"topics_present", fail, "1 of 2 missing: payments"},
		{"hwm_match", fail, "orders/1 is 20, want 21"},
		{"produce_consume", skip, "no topic given"},
		{"failover", skip, "single standalone node"},
		{"performance", skip, "no baseline"},
		{"no_errors", warn, "no errors so far"},
		{"metrics", skip, "no metrics registry"},
	} {
		c := got[tt.id]
		if c.GetStatus() != tt.status || !strings.Contains(c.GetDetail(), tt.detail) {
			t.Errorf("%s = %v %q, want %v containing %q", tt.id, c.GetStatus(), c.GetDetail(), tt.status, tt.detail)
		}
	}
	if !strings.Contains(got["hwm_match"].GetDetail(), "gone/0 missing") {
		t.Errorf("hwm_match detail %q", got["hwm_match"].GetDetail())
	}

	// An hour later, with a stable leader and a recent error.
	now = now.Add(2 * time.Hour)
	src.events.Append(slog.LevelError, "disk on fire")
	resp, err = s.RunValidation(admin(ctx), &consolepb.RunValidationRequest{ExpectedNodes: 1})
	if err != nil {
		t.Fatal(err)
	}
	got = map[string]*consolepb.Check{}
	for _, c := range resp.GetChecks() {
		got[c.GetId()] = c
	}
	if got["nodes_joined"].GetStatus() != pass || got["leader_stable"].GetStatus() != pass ||
		got["no_errors"].GetStatus() != fail || !strings.Contains(got["no_errors"].GetDetail(), "disk on fire") {
		t.Fatalf("later validation: %v", resp.GetChecks())
	}
}

func TestPreflightPaths(t *testing.T) {
	src := newFakeSource(t)
	writeSegment(t, filepath.Join(src.info.WALDir, "orders", "0"), 0, 1, walcodec.MagicV2, 64)
	s, err := NewServer(Config{Source: src, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if _, err := s.Preflight(ctx, &consolepb.PreflightRequest{}); err == nil {
		t.Fatal("Preflight without a path succeeded")
	}
	for _, tt := range []struct {
		path consolepb.MigrationPath
		want map[string]consolepb.CheckStatus
	}{
		{consolepb.MigrationPath_MIGRATION_PATH_IN_PLACE, map[string]consolepb.CheckStatus{
			"backup": skip, "mode": pass, "wal_format": warn, "data_dir": pass, "admin_token": warn, "node_port": pass}},
		{consolepb.MigrationPath_MIGRATION_PATH_BLUE_GREEN, map[string]consolepb.CheckStatus{
			"mode": warn, "mirror": warn, "empty_node": pass, "data_dir": pass}}, // standalone, no mirror manager
		{consolepb.MigrationPath_MIGRATION_PATH_FRESH, map[string]consolepb.CheckStatus{
			"empty_node": pass, "data_dir": pass}},
	} {
		resp, err := s.Preflight(ctx, &consolepb.PreflightRequest{Path: tt.path})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]consolepb.CheckStatus{}
		for _, c := range resp.GetChecks() {
			got[c.GetId()] = c.GetStatus()
		}
		for id, want := range tt.want {
			if got[id] != want {
				t.Errorf("%v: %s = %v, want %v (all: %v)", tt.path, id, got[id], want, resp.GetChecks())
			}
		}
		if _, ok := got["disk_space"]; !ok {
			t.Errorf("%v: no disk_space check", tt.path)
		}
	}
	// wal_format = 2 with V2 data: rollback still possible.
	src.set(func(f *fakeSource) { f.info.WALFormat = 2 })
	resp, _ := s.Preflight(ctx, &consolepb.PreflightRequest{Path: consolepb.MigrationPath_MIGRATION_PATH_IN_PLACE})
	for _, c := range resp.GetChecks() {
		if c.GetId() == "wal_format" && (c.GetStatus() != pass || !strings.Contains(c.GetDetail(), "rollback to v1.x still possible")) {
			t.Fatalf("wal_format check with wal_format 2: %v", c)
		}
	}
}
