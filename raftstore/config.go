package raftstore

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hashicorp/raft"
)

// Defaults of Config (DESIGN.md §4, notes/raft.md): sub-second failover on a LAN.
const (
	DefaultHeartbeatTimeout   = 200 * time.Millisecond
	DefaultElectionTimeout    = 200 * time.Millisecond
	DefaultLeaderLeaseTimeout = 100 * time.Millisecond
	DefaultCommitTimeout      = 50 * time.Millisecond
	DefaultMaxAppendEntries   = 512
	DefaultTrailingLogs       = 10240
	DefaultSnapshotInterval   = 120 * time.Second
	DefaultSnapshotThreshold  = 8192
	DefaultMaxInFlight        = 8
	// DefaultSegmentSize is the raft-wal segment size. raft-wal preallocates whole segments, so
	// its own 64 MiB default would cost 64 MiB of disk per Raft group even when nearly empty.
	DefaultSegmentSize = 8 << 20
)

// Config holds the Raft tuning shared by every group of a node ([cluster.raft] in chronik.toml).
// The zero value is not usable: start from DefaultConfig.
type Config struct {
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration // ≥ HeartbeatTimeout
	LeaderLeaseTimeout time.Duration // ≤ HeartbeatTimeout
	CommitTimeout      time.Duration
	MaxAppendEntries   int  // entries per AppendEntries RPC, 1..1024
	BatchApplyCh       bool // batch Apply calls (throughput; apply timeouts become approximate)
	TrailingLogs       uint64
	SnapshotInterval   time.Duration
	SnapshotThreshold  uint64
	// EnablePipeline lets the leader pipeline AppendEntries over one stream per follower, with at
	// most MaxInFlight requests unanswered. Off: every append waits for its response.
	EnablePipeline bool
	MaxInFlight    int
	// SegmentSize is the raft-wal segment size in bytes (OpenLogStore).
	SegmentSize int
}

// DefaultConfig returns the production defaults: HeartbeatTimeout = ElectionTimeout = 200ms,
// LeaderLeaseTimeout = 100ms, MaxAppendEntries 512, BatchApplyCh on, pipeline on with 8 in flight,
// 8 MiB raft-wal segments.
func DefaultConfig() Config {
	return Config{
		HeartbeatTimeout:   DefaultHeartbeatTimeout,
		ElectionTimeout:    DefaultElectionTimeout,
		LeaderLeaseTimeout: DefaultLeaderLeaseTimeout,
		CommitTimeout:      DefaultCommitTimeout,
		MaxAppendEntries:   DefaultMaxAppendEntries,
		BatchApplyCh:       true,
		TrailingLogs:       DefaultTrailingLogs,
		SnapshotInterval:   DefaultSnapshotInterval,
		SnapshotThreshold:  DefaultSnapshotThreshold,
		EnablePipeline:     true,
		MaxInFlight:        DefaultMaxInFlight,
		SegmentSize:        DefaultSegmentSize,
	}
}

// Validate reports the first invalid setting, named by its chronik.toml key where one exists.
func (c Config) Validate() error {
	var errs []error
	if c.HeartbeatTimeout < 5*time.Millisecond {
		errs = append(errs, fmt.Errorf("cluster.raft.heartbeat_timeout_ms: %v is below 5ms", c.HeartbeatTimeout))
	}
	if c.ElectionTimeout < c.HeartbeatTimeout {
		errs = append(errs, fmt.Errorf("cluster.raft.election_timeout_ms: %v is below the heartbeat timeout %v", c.ElectionTimeout, c.HeartbeatTimeout))
	}
	if c.LeaderLeaseTimeout < 5*time.Millisecond || c.LeaderLeaseTimeout > c.HeartbeatTimeout {
		errs = append(errs, fmt.Errorf("cluster.raft.leader_lease_timeout_ms: %v must be between 5ms and the heartbeat timeout %v", c.LeaderLeaseTimeout, c.HeartbeatTimeout))
	}
	if c.CommitTimeout < time.Millisecond {
		errs = append(errs, fmt.Errorf("raft commit timeout: %v is below 1ms", c.CommitTimeout))
	}
	if c.MaxAppendEntries < 1 || c.MaxAppendEntries > 1024 {
		errs = append(errs, fmt.Errorf("raft max append entries: %d is outside 1..1024", c.MaxAppendEntries))
	}
	if c.SnapshotInterval < 5*time.Millisecond {
		errs = append(errs, fmt.Errorf("raft snapshot interval: %v is below 5ms", c.SnapshotInterval))
	}
	if c.EnablePipeline && c.MaxInFlight < 1 {
		errs = append(errs, fmt.Errorf("cluster.raft.max_in_flight: %d must be at least 1 when the pipeline is enabled", c.MaxInFlight))
	}
	if c.SegmentSize < 0 {
		errs = append(errs, fmt.Errorf("raft-wal segment size: %d is negative", c.SegmentSize))
	}
	return errors.Join(errs...)
}

// RaftConfig builds the *raft.Config of one group member. logger may be nil (discard).
func (c Config) RaftConfig(id raft.ServerID, logger *slog.Logger) (*raft.Config, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	rc := raft.DefaultConfig()
	rc.LocalID = id
	rc.HeartbeatTimeout = c.HeartbeatTimeout
	rc.ElectionTimeout = c.ElectionTimeout
	rc.LeaderLeaseTimeout = c.LeaderLeaseTimeout
	rc.CommitTimeout = c.CommitTimeout
	rc.MaxAppendEntries = c.MaxAppendEntries
	rc.BatchApplyCh = c.BatchApplyCh
	rc.TrailingLogs = c.TrailingLogs
	rc.SnapshotInterval = c.SnapshotInterval
	rc.SnapshotThreshold = c.SnapshotThreshold
	rc.NoLegacyTelemetry = true
	// raft-wal is not a CommitTrackingLogStore (notes/raft.md).
	rc.RestoreCommittedLogs = false
	rc.Logger = NewHCLogger(logger, "raft")
	if err := raft.ValidateConfig(rc); err != nil {
		return nil, fmt.Errorf("raft config for server %s: %w", id, err)
	}
	return rc, nil
}

// Deadlines are the per-call deadlines of the transport.
type Deadlines struct {
	Heartbeat time.Duration // heartbeats: at most HeartbeatTimeout/2
	Vote      time.Duration // RequestVote, RequestPreVote, TimeoutNow
	Append    time.Duration // AppendEntries base, plus size/MinBytesPerSecond
	Snapshot  time.Duration // InstallSnapshot base, plus size/MinBytesPerSecond
	// MinBytesPerSecond is the slowest transfer rate tolerated before a large call times out.
	MinBytesPerSecond int64
}

// Deadlines derives the transport deadlines from the timeouts: heartbeats HT/2, votes 2×HT,
// appends 5×HT, snapshots 25×HT, each bulk call plus 1 s per 8 MiB it carries.
func (c Config) Deadlines() Deadlines {
	ht := c.HeartbeatTimeout
	if ht <= 0 {
		ht = DefaultHeartbeatTimeout
	}
	return Deadlines{
		Heartbeat:         ht / 2,
		Vote:              2 * ht,
		Append:            5 * ht,
		Snapshot:          25 * ht,
		MinBytesPerSecond: 8 << 20,
	}
}

// scaled returns base plus the time size bytes take at the minimum rate.
func (d Deadlines) scaled(base time.Duration, size int64) time.Duration {
	if d.MinBytesPerSecond <= 0 || size <= 0 {
		return base
	}
	return base + time.Duration(float64(size)/float64(d.MinBytesPerSecond)*float64(time.Second))
}
