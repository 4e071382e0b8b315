package console

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chronik-stream/chronik/api/consolepb"
	"github.com/chronik-stream/chronik/walcodec"
)

// The guide's v2.0 system requirements ("Check System Requirements").
const (
	wantCPUs   = 4
	wantMemory = 8 << 30
)

// Preflight runs the guide's pre-migration checklist items that the node can check itself.
func (s *Server) Preflight(_ context.Context, req *consolepb.PreflightRequest) (*consolepb.PreflightResponse, error) {
	path := req.GetPath()
	if path == consolepb.MigrationPath_MIGRATION_PATH_UNSPECIFIED {
		return nil, status.Error(codes.InvalidArgument, "Preflight: choose a migration path (in-place, blue-green or fresh)")
	}
	n := s.src.Node()
	wal, walErr := ScanWAL(n.WALDir)
	resp := &consolepb.PreflightResponse{NodeId: n.ID}
	add := func(c *consolepb.Check) { resp.Checks = append(resp.Checks, c) }

	switch path {
	case consolepb.MigrationPath_MIGRATION_PATH_IN_PLACE:
		add(s.backupCheck(n))
		add(s.modeCheck(n, "standalone (v1 mode): ready for `chronik-server cluster --migrate-wal`"))
		add(walFormatCheck(n, wal, walErr))
		add(diskCheck(n, wal, walErr, true))
	case consolepb.MigrationPath_MIGRATION_PATH_BLUE_GREEN:
		// The console runs the blue-green path from a green node: blue (v1.x) has no console API.
		if n.Mode == ModeCluster {
			add(check("mode", "Current mode", pass, "green node %d runs in cluster mode", n.ID))
		} else {
			add(check("mode", "Current mode", warn, "node %d runs standalone: connect the console to a green cluster node (`chronik-server cluster`)", n.ID))
		}
		add(s.emptyCheck("the mirror copies blue's partitions into empty ones; partitions that already hold records are refused"))
		if s.cfg.Mirrors != nil {
			add(check("mirror", "Replicate data from blue to green", pass,
				"built-in mirror available (next steps); MirrorMaker or backup/restore work too (guide, Blue-Green Option A/B)"))
		} else {
			add(check("mirror", "Replicate data from blue to green", warn,
				"this node runs no mirror: use Kafka MirrorMaker or backup/restore (guide, Blue-Green Option A/B)"))
		}
		add(diskCheck(n, wal, walErr, false))
	case consolepb.MigrationPath_MIGRATION_PATH_FRESH:
		add(s.emptyCheck("a fresh cluster does not carry them over (re-ingest, or choose in-place / blue-green)"))
		add(diskCheck(n, wal, walErr, false))
	}
	add(dataDirCheck(n))
	add(cpuCheck())
	add(memoryCheck())
	add(check("node_port", "gRPC port 9093 reachable", pass,
		"the console reached this node on its node address %s: open that port between cluster nodes too", n.NodeAddr))
	if n.AdminTokenConfigured {
		add(check("admin_token", "Admin token configured", pass, "admin calls (set-hwm, console actions) are enabled"))
	} else {
		add(check("admin_token", "Admin token configured", warn,
			"no admin_token: /admin/set-hwm and every mutating console step will be refused; set admin_token or CHRONIK_ADMIN_TOKEN"))
	}
	return resp, nil
}

// backupCheck passes when this node wrote and verified a backup since it started (the
// console's Backup); backups taken otherwise are invisible to it.
func (s *Server) backupCheck(n NodeInfo) *consolepb.Check {
	const id, name = "backup", "Backup existing data"
	b := s.verifiedBackup()
	if b == nil {
		return check(id, name, skip, "no verified backup from this node since it started: take one (the workflow's backup step, "+
			"or `chronik-server backup --output chronik-backup.tar.gz`, or stop the node and tar %s)", n.DataDir)
	}
	return check(id, name, pass, "%s verified %s ago: %s, %s, %d records", b.Path, s.cfg.Now().Sub(b.VerifiedAt).Round(time.Second),
		plural(b.Topics, "topic"), plural(b.Partitions, "partition"), b.Records)
}

// emptyCheck passes when the node holds no topics; otherwise warns with why that matters.
func (s *Server) emptyCheck(why string) *consolepb.Check {
	if topics := len(s.src.Topics()); topics > 0 {
		return check("empty_node", "No existing data", warn, "the node holds %s: %s", plural(topics, "topic"), why)
	}
	return check("empty_node", "No existing data", pass, "the node holds no topics")
}

func (s *Server) modeCheck(n NodeInfo, standaloneDetail string) *consolepb.Check {
	if n.Mode == ModeCluster {
		return check("mode", "Current mode", warn, "node %d already runs in cluster mode", n.ID)
	}
	return check("mode", "Current mode", pass, "%s", standaloneDetail)
}

func walFormatCheck(n NodeInfo, c WALCounts, err error) *consolepb.Check {
	const id, name = "wal_format", "WAL version"
	switch {
	case err != nil:
		return check(id, name, fail, "%v", err)
	case c.Other > 0:
		return check(id, name, fail, "%d segments under %s start with an unknown magic: run `chronik-server debug wal-verify --path %s`", c.Other, n.WALDir, n.WALDir)
	case c.V2 > 0 && n.WALFormat == walcodec.V2:
		return check(id, name, pass, "%d V2 and %d V3 segments; wal_format = 2 (rollback to v1.x still possible)", c.V2, c.V3)
	case c.V2 > 0:
		return check(id, name, warn, "%d V2 and %d V3 segments; wal_format = 3: the node already writes V3, so v1.x can no longer read this WAL (rollback = restore a backup)", c.V2, c.V3)
	}
	return check(id, name, pass, "%d segments, all V3 (or none)", c.V3)
}

// diskCheck: an in-place conversion needs room for the largest segment (converted one at a time);
// the guide adds 50% for Raft logs (100 GB → 150 GB).
func diskCheck(n NodeInfo, c WALCounts, scanErr error, inPlace bool) *consolepb.Check {
	const id, name = "disk_space", "Disk space"
	free, err := diskFree(n.DataDir)
	switch {
	case err != nil:
		return check(id, name, skip, "%v", err)
	case scanErr != nil:
		return check(id, name, fail, "%v", scanErr)
	case inPlace && free < 2*c.Largest:
		return check(id, name, fail, "%s free in %s, the largest segment is %s: converting it in place needs twice that",
			humanBytes(free), n.DataDir, humanBytes(c.Largest))
	case free < c.Bytes/2:
		return check(id, name, warn, "%s free, WAL uses %s: the guide plans +50%% disk for Raft logs", humanBytes(free), humanBytes(c.Bytes))
	}
	return check(id, name, pass, "%s free in %s, WAL uses %s", humanBytes(free), n.DataDir, humanBytes(c.Bytes))
}

func dataDirCheck(n NodeInfo) *consolepb.Check {
	const id, name = "data_dir", "Data directory writable"
	f, err := os.CreateTemp(n.DataDir, ".chronik-preflight-*")
	if err != nil {
		return check(id, name, fail, "cannot create a file in %s: %v", n.DataDir, err)
	}
	p := f.Name()
	_ = f.Close()
	if err := os.Remove(p); err != nil {
		return check(id, name, warn, "created but could not remove %s: %v", filepath.Base(p), err)
	}
	return check(id, name, pass, "%s is writable", n.DataDir)
}

func cpuCheck() *consolepb.Check {
	c := runtime.NumCPU()
	if c < wantCPUs {
		return check("cpu", "CPU cores", warn, "%d cores; the guide plans %d for v2.0 (+2 for Raft)", c, wantCPUs)
	}
	return check("cpu", "CPU cores", pass, "%d cores (guide: %d)", c, wantCPUs)
}

func memoryCheck() *consolepb.Check {
	m, err := memTotal()
	switch {
	case err != nil:
		return check("memory", "Memory", skip, "%v", err)
	case m < wantMemory:
		return check("memory", "Memory", warn, "%s; the guide plans 8 GiB for v2.0 (+4 GiB for Raft logs and snapshots)", humanBytes(m))
	}
	return check("memory", "Memory", pass, "%s (guide: 8 GiB)", humanBytes(m))
}
