package console

import (
	"context"
	"runtime/debug"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// NodeStatus describes the answering node.
func (s *Server) NodeStatus(context.Context, *consolepb.NodeStatusRequest) (*consolepb.NodeStatusResponse, error) {
	n := s.src.Node()
	segs, bytes := s.src.DiskStats()
	var topics, partitions int32
	for _, t := range s.src.Topics() {
		topics++
		partitions += int32(len(t.Partitions))
	}
	role := consolepb.Role_ROLE_UNSPECIFIED
	for _, m := range s.src.Members() {
		if m.ID == n.ID {
			role = roleToProto(m.Role)
		}
	}
	version := n.Version
	if version == "" {
		version = buildVersion()
	}
	return &consolepb.NodeStatusResponse{
		NodeId:               n.ID,
		Mode:                 modeToProto(n.Mode),
		Role:                 role,
		Version:              version,
		ClusterId:            n.ClusterID,
		KafkaAddress:         n.KafkaAddr,
		HttpAddress:          n.HTTPAddr,
		NodeAddress:          n.NodeAddr,
		DataDir:              n.DataDir,
		WalFormat:            uint32(n.WALFormat),
		UptimeMs:             s.cfg.Now().Sub(n.StartTime).Milliseconds(),
		StartTimeUnixMs:      n.StartTime.UnixMilli(),
		Segments:             int64(segs),
		BytesOnDisk:          bytes,
		Topics:               topics,
		Partitions:           partitions,
		AdminTokenConfigured: n.AdminTokenConfigured,
	}, nil
}

// buildVersion is the main module's version from the build info ("(devel)" for local builds).
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Main.Version
	}
	return ""
}

// MigrationProgress reports the WAL format progress of every node the source knows.
func (s *Server) MigrationProgress(context.Context, *consolepb.MigrationProgressRequest) (*consolepb.MigrationProgressResponse, error) {
	resp := &consolepb.MigrationProgressResponse{}
	for _, m := range s.src.Migration() {
		resp.Nodes = append(resp.Nodes, migrationToProto(m))
	}
	return resp, nil
}
