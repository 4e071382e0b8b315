package console

import (
	"context"
	"time"
)

// Mode is how a node runs.
type Mode int

const (
	ModeStandalone Mode = iota + 1 // `chronik-server start`
	ModeCluster                    // `chronik-server cluster`
)

// Role of a member in the metadata Raft group; a standalone node is its own leader.
type Role int

const (
	RoleUnknown Role = iota
	RoleLeader
	RoleFollower
	RoleCandidate
	RoleNonvoter
	RoleShutdown
	RoleUnreachable // the answering node cannot reach it
	RoleJoining     // recorded, not in the metadata group yet
)

// NodeInfo describes the node serving the console.
type NodeInfo struct {
	ID                   uint64
	ClusterID            string
	Mode                 Mode
	Version              string
	KafkaAddr            string // advertised Kafka address (host:port)
	HTTPAddr             string
	NodeAddr             string // advertised gRPC address
	DataDir              string
	WALDir               string // <data_dir>/wal
	WALFormat            uint8  // format new records are written in
	StartTime            time.Time
	AdminTokenConfigured bool
}

// Member is one member of the cluster.
type Member struct {
	ID             uint64
	Addr           string
	KafkaAddr      string
	Role           Role
	Voter          bool
	Term           uint64
	LastContact    time.Duration // 0 for the leader itself; negative = unknown
	ReplicationLag int64         // entries behind the leader; negative = unknown
}

// Partition is one partition with its log offsets.
type Partition struct {
	Partition      int32
	HighWatermark  int64
	LogStartOffset int64
	Leader         uint64
	Replicas       []uint64
}

// Topic is a topic and its partitions (sorted by partition).
type Topic struct {
	Name              string
	ReplicationFactor int16
	Partitions        []Partition
}

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// MigrationNode is the WAL migration state of one node.
type MigrationNode struct {
	NodeID     uint64
	SegmentsV3 int64
	Total      int64
	State      string // "idle", "running", "done", "failed"
	Detail     string
}

// Source is what the console reads from a node. Implementations must be safe for concurrent
// use; every method returns promptly (no network round trips).
type Source interface {
	Node() NodeInfo
	Members() []Member
	// Leader is the leader's id; ok is false when no leader is known.
	Leader() (id uint64, ok bool)
	// Topics are sorted by name.
	Topics() []Topic
	// CommittedOffsets is, per partition, the sum over consumer groups of their committed offsets.
	CommittedOffsets() map[TopicPartition]int64
	// GroupCounts counts consumer groups by state.
	GroupCounts() map[string]int
	// Migration reports WAL migration progress per node. It may read the file system (the
	// console calls it at most every MigrationInterval).
	Migration() []MigrationNode
	// DiskStats are the node's WAL segments and their bytes.
	DiskStats() (segments int, bytes int64)
	// Events is the node's events ring.
	Events() *Events
	// Changes returns channels that are closed at the next observable change (a high watermark
	// advance, a metadata change, a membership change). The console takes them before it reads
	// the state and waits on them afterwards, so no change is missed; a channel that is already
	// closed only costs a sample (at most one per MinInterval).
	Changes() []<-chan struct{}
}

// Admin performs the admin actions a node supports.
type Admin interface {
	// SetHighWatermark sets the partition's high watermark (lowering it truncates the log) and
	// returns the previous and the new one. Unknown partitions → an error wrapping ErrNotFound.
	SetHighWatermark(ctx context.Context, topic string, partition int32, offset int64) (previous, hwm int64, err error)
}

// Membership changes the Raft membership (cluster mode only).
type Membership interface {
	AddNode(ctx context.Context, id uint64, addr string) error
	RemoveNode(ctx context.Context, id uint64) error
	// TransferLeadership moves leadership to target (0 = any up-to-date voter) and returns the
	// new leader.
	TransferLeadership(ctx context.Context, target uint64) (uint64, error)
}
