package node

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/chronik-stream/chronik/broker/config"
	"github.com/chronik-stream/chronik/broker/groups"
	"github.com/chronik-stream/chronik/broker/httpapi"
	"github.com/chronik-stream/chronik/broker/kafka"
	"github.com/chronik-stream/chronik/broker/meta"
	"github.com/chronik-stream/chronik/broker/storage"
)

// Cluster is the Raft side of a node in cluster mode (`chronik-server cluster`). broker never
// imports raftstore: cmd/chronik-server implements this with it and passes WithCluster.
//
// In cluster mode the node replaces its standalone pieces with the cluster's: the metadata
// store is replicated through the metadata Raft group (the node creates it empty with
// meta.NewStore and the cluster becomes its proposer), the consumer-group coordinator runs on the
// metadata leader (Groups), the Kafka handlers route partitions through Kafka(), /health and
// /admin/cluster/* come from Status(). Shutdown calls Cluster.Shutdown first, so that leadership
// moves to other nodes while this one still answers (NOT_LEADER_OR_FOLLOWER, NOT_COORDINATOR).
type Cluster interface {
	// RegisterGRPC adds the Raft transport and the cluster service to the node's gRPC server
	// (created with the options passed by WithGRPCServerOptions).
	RegisterGRPC(s *grpc.Server)
	// Groups is the consumer-group coordinator of the node.
	Groups() ClusterGroups
	// Kafka is the cluster as the Kafka handlers see it.
	Kafka() kafka.Cluster
	// Status answers /health and /admin/cluster/members and /admin/cluster/leader.
	Status() httpapi.Status
	// ClusterNodes is the number of members (chronik_cluster_nodes).
	ClusterNodes() int
	// RegisterAdmin adds the cluster's admin endpoints (POST /admin/cluster/remove).
	RegisterAdmin(api *httpapi.Server)
	// Start starts the Raft groups (bootstrap or join). topicLogConfig maps topic configs to
	// partition log settings (the Kafka server's TopicLogConfig).
	Start(ctx context.Context, topicLogConfig func(map[string]string) storage.LogConfig) error
	// Shutdown hands leadership over and stops the Raft groups.
	Shutdown(ctx context.Context) error
	// Fatal delivers an error after which this node cannot take part in the cluster (its join
	// was refused): the node stops with it.
	Fatal() <-chan error
	// MetaLog is the metadata log (<data_dir>/wal/__meta) the cluster keeps (nil before Start):
	// what an online backup captures next to the partition logs.
	MetaLog() *storage.Log
}

// ClusterGroups is the consumer-group coordinator of a cluster node.
type ClusterGroups interface {
	kafka.Groups
	GroupCount() map[string]int
}

// ClusterEnv is what a node hands to the factory of its Cluster.
type ClusterEnv struct {
	Config         config.Config
	Logs           *storage.Manager // the node's partition logs
	Meta           *meta.Store      // empty; the cluster replicates it and becomes its proposer
	StorageMetrics *storage.Metrics
	Registry       prometheus.Registerer
	Logger         *slog.Logger
	// GroupsConfig is the coordinator configuration the node would use standalone.
	GroupsConfig groups.Config
}

// WithCluster runs the node in cluster mode: open is called once the data directory is locked
// and the partition logs exist, before anything serves.
func WithCluster(open func(env ClusterEnv) (Cluster, error)) Option {
	return func(o *startOptions) { o.cluster = open }
}

// openCluster creates the metadata store and the cluster (cluster mode); the standalone
// coordinator is replaced by a closed one that only answers GroupCount for the console.
func (n *Node) openCluster(open func(env ClusterEnv) (Cluster, error), smetrics *storage.Metrics, gcfg groups.Config) error {
	n.meta = meta.NewStore(n.logger)
	c, err := open(ClusterEnv{
		Config:         n.cfg,
		Logs:           n.logs,
		Meta:           n.meta,
		StorageMetrics: smetrics,
		Registry:       n.registry,
		Logger:         n.logger,
		GroupsConfig:   gcfg,
	})
	if err != nil {
		return fmt.Errorf("starting cluster mode: %w", err)
	}
	n.cluster = c
	n.grpc.opts.grpcServices = append(n.grpc.opts.grpcServices, c.RegisterGRPC)
	return nil
}

// groupsAPI is what the Kafka handlers use for group APIs.
func (n *Node) groupsAPI() kafka.Groups {
	if n.cluster != nil {
		return n.cluster.Groups()
	}
	return n.groups
}

// kafkaCluster is the Kafka handlers' cluster view (nil standalone).
func (n *Node) kafkaCluster() kafka.Cluster {
	if n.cluster != nil {
		return n.cluster.Kafka()
	}
	return nil
}

// status answers /health and /admin/cluster/*.
func (n *Node) status() httpapi.Status {
	if n.cluster != nil {
		return n.cluster.Status()
	}
	return standaloneStatus{n}
}

// defaultReplicationFactor of new topics: 1 standalone (a larger default would refuse every
// CreateTopics); default_replication_factor in a cluster (capped at the number of nodes).
func (n *Node) defaultReplicationFactor() int16 {
	if n.cluster != nil {
		return n.cfg.DefaultReplicationFactor
	}
	return 1
}

// startCluster starts the Raft groups (cluster mode).
func (n *Node) startCluster(ctx context.Context) error {
	if n.cluster == nil {
		return nil
	}
	return n.cluster.Start(ctx, n.kafka.TopicLogConfig)
}

// watchCluster stops the node on a fatal cluster error (cluster mode; run with goRun).
func (n *Node) watchCluster(runCtx context.Context) error {
	if n.cluster == nil {
		return nil
	}
	select {
	case err := <-n.cluster.Fatal():
		return err
	case <-runCtx.Done():
		return nil
	}
}

// metaLog is the node's metadata log: the standalone store's, or the one the cluster keeps.
func (n *Node) metaLog() *storage.Log {
	if n.cluster != nil {
		return n.cluster.MetaLog()
	}
	return n.meta.Log()
}

// shutdownCluster is the first step of Shutdown in cluster mode.
func (n *Node) shutdownCluster(ctx context.Context) error {
	if n.cluster == nil {
		return nil
	}
	return n.cluster.Shutdown(ctx)
}
