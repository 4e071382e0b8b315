package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/chronik-stream/chronik/broker/config"
	"github.com/chronik-stream/chronik/broker/httpapi"
	"github.com/chronik-stream/chronik/broker/kafka"
	"github.com/chronik-stream/chronik/broker/node"
	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/chronik-stream/chronik/broker/walmigrate"
	"github.com/chronik-stream/chronik/raftstore"
)

// clusterFlags are the cluster subcommand's own flags (every config key has its flag too).
type clusterFlags struct {
	migrateWAL bool
	dataGroups int
}

// newClusterCmd is `chronik-server cluster`: one node of a Raft cluster.
func newClusterCmd() *cobra.Command {
	cf := &configFlags{}
	var fl clusterFlags
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Run a node of a Raft cluster (Kafka 9092, HTTP 8080, Raft and console gRPC 9093)",
		Long: "Run one node of a Raft cluster, configured by the [cluster] section (cluster.enabled is\n" +
			"implied). With no Raft state and no seed nodes (--seed-nodes \"\") the node bootstraps a new\n" +
			"cluster, importing the standalone data of its data directory; with seed nodes\n" +
			"(--seed-nodes \"1@node1:9093,2@node2:9093\") it joins through them. A node that already has\n" +
			"Raft state (<data_dir>/wal/__meta/raft_*) restarts as the member it was.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true
			cfg, err := cf.load(cmd)
			if err != nil {
				return err
			}
			if err := cfg.Set("cluster.enabled", "true"); err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			return runCluster(cmd.Context(), cfg, fl, cmd.ErrOrStderr())
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&fl.migrateWAL, "migrate-wal", false,
		"convert the V2 WAL segments under <data_dir>/wal to V3 in place before starting, logging progress")
	cmd.Flags().IntVar(&fl.dataGroups, "data-groups", raftstore.DefaultDataGroups,
		"data replication groups created when this node bootstraps a cluster (fixed for the cluster's life)")
	return cmd
}

// runCluster starts a cluster node and serves until SIGINT or SIGTERM (SIGTERM hands the
// leadership of every group this node leads to another node first).
func runCluster(ctx context.Context, cfg config.Config, fl clusterFlags, logw io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	logger := newLogger(logw, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	seeds, err := cfg.Seeds()
	if err != nil {
		return fmt.Errorf("config key %q: %w", "cluster.seed_nodes", err)
	}
	if fl.migrateWAL {
		walDir := filepath.Join(cfg.DataDir, "wal")
		if _, err := os.Stat(walDir); err == nil {
			if _, err := walmigrate.MigrateInPlace(ctx, walDir, logger); err != nil {
				return err
			}
		} else {
			logger.Info("WAL migration: no WAL directory yet, nothing to convert", "wal_dir", walDir)
		}
	}
	rcfg := raftstore.DefaultConfig()
	r := cfg.Cluster.Raft
	rcfg.HeartbeatTimeout = time.Duration(r.HeartbeatTimeoutMs) * time.Millisecond
	rcfg.ElectionTimeout = time.Duration(r.ElectionTimeoutMs) * time.Millisecond
	rcfg.LeaderLeaseTimeout = time.Duration(r.LeaderLeaseTimeoutMs) * time.Millisecond
	rcfg.EnablePipeline = r.EnablePipeline
	rcfg.MaxInFlight = r.MaxInFlight
	if err := rcfg.Validate(); err != nil {
		return err
	}
	rseeds := make([]raftstore.Seed, 0, len(seeds))
	for _, s := range seeds {
		rseeds = append(rseeds, raftstore.Seed{ID: s.ID, Addr: s.Addr})
	}
	open := func(env node.ClusterEnv) (node.Cluster, error) {
		rn, err := raftstore.NewNode(raftstore.NodeConfig{
			NodeID:            cfg.Cluster.NodeID,
			DataDir:           cfg.DataDir,
			RaftAddr:          cfg.EffectiveAdvertisedNodeAddr(),
			KafkaHost:         cfg.EffectiveAdvertisedHost(),
			KafkaPort:         int32(cfg.KafkaPort),
			Seeds:             rseeds,
			Raft:              rcfg,
			DataGroups:        fl.dataGroups,
			ReplicationFactor: raftstore.DefaultReplicationFactor,
			WALFormat:         cfg.WALFormat,
			Logs:              env.Logs,
			Meta:              env.Meta,
			StorageMetrics:    env.StorageMetrics,
			Groups:            env.GroupsConfig,
			Logger:            env.Logger,
			Registerer:        env.Registry,
		})
		if err != nil {
			return nil, err
		}
		return clusterNode{rn}, nil
	}
	n, err := node.Start(ctx, cfg, logger,
		node.WithGRPCServerOptions(raftstore.ServerOptions()...),
		node.WithCluster(open))
	if err != nil {
		return err
	}
	<-n.Done()
	return n.Err()
}

// clusterNode adapts a raftstore.Node to node.Cluster.
type clusterNode struct{ n *raftstore.Node }

func (c clusterNode) RegisterGRPC(s *grpc.Server)       { c.n.Register(s) }
func (c clusterNode) Groups() node.ClusterGroups        { return c.n.Groups() }
func (c clusterNode) Kafka() kafka.Cluster              { return c.n.KafkaCluster() }
func (c clusterNode) Status() httpapi.Status            { return c.n.Status() }
func (c clusterNode) ClusterNodes() int                 { return c.n.ClusterSize() }
func (c clusterNode) RegisterAdmin(api *httpapi.Server) { c.n.RegisterAdmin(api) }
func (c clusterNode) Shutdown(ctx context.Context) error {
	return c.n.Shutdown(ctx)
}
func (c clusterNode) Fatal() <-chan error   { return c.n.Fatal() }
func (c clusterNode) MetaLog() *storage.Log { return c.n.MetaLog() }

// RemoveNode, TransferLeadership and AddNode make clusterNode a console.Membership.
func (c clusterNode) RemoveNode(ctx context.Context, id uint64) error { return c.n.RemoveNode(ctx, id) }

func (c clusterNode) TransferLeadership(ctx context.Context, target uint64) (uint64, error) {
	return c.n.TransferLeadership(ctx, target)
}

// AddNode waits for node id to join: a node joins by itself, started with the seed nodes.
func (c clusterNode) AddNode(ctx context.Context, id uint64, addr string) error {
	return c.n.AwaitMember(ctx, id, addr)
}

func (c clusterNode) Start(ctx context.Context, tlc func(map[string]string) storage.LogConfig) error {
	c.n.SetTopicLogConfig(tlc)
	return c.n.Start(ctx)
}
