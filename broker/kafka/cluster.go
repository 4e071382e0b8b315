package kafka

import (
	"context"

	"github.com/chronik-stream/chronik/broker/storage"
)

// Broker is one node as Kafka clients see it.
type Broker struct {
	NodeID int32
	Host   string
	Port   int32
}

// Cluster is the Raft cluster as the protocol handlers see it; nil in standalone mode, where
// this node is the only broker, the controller, every partition's leader and the coordinator of
// every group. raftstore implements it and cmd/chronik-server wires it (Deps.Cluster).
//
// With a Cluster:
//   - Metadata and DescribeCluster list Brokers(); partition leaders and replicas come from
//     Partition (the partition's data group).
//   - Produce, Fetch, ListOffsets, DeleteRecords and OffsetForLeaderEpoch use Log, which answers
//     NOT_LEADER_OR_FOLLOWER for partitions this node does not lead; appends go through Raft.
//   - FindCoordinator answers Coordinator() (the metadata leader).
//   - The topic manager does not open or configure partition logs itself: the cluster opens them
//     where the partition's data group has replicas.
type Cluster interface {
	// Brokers lists every node of the cluster, sorted by node id.
	Brokers() []Broker
	// ControllerID is the node announced as controller, -1 when unknown.
	ControllerID() int32
	// Coordinator is the node that coordinates consumer groups; ok is false while unknown.
	Coordinator() (b Broker, ok bool)
	// Partition returns the leader (-1 when unknown) and replicas of a partition.
	Partition(topic string, partition int32) (leader int32, replicas []int32)
	// SyncMetadata waits (briefly) until this node's metadata includes every change committed
	// before the call, so that Metadata answered here shows what other nodes acknowledged.
	SyncMetadata(ctx context.Context) error
	// Log returns the log of a partition this node leads. Errors wrap kerr codes
	// (NOT_LEADER_OR_FOLLOWER when another node leads it or the leader is not ready yet).
	Log(topic string, partition int32) (PartitionLog, error)
}

// TopicLogConfig is the storage configuration of a partition log of a topic with the given
// topic configs (broker defaults from Config, overridden by segment.bytes, segment.ms,
// retention.ms and retention.bytes). The cluster uses it to open replica logs.
func (s *Server) TopicLogConfig(configs map[string]string) storage.LogConfig {
	return s.topics.logConfig(configs)
}
