package raftstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/chronik-stream/chronik/broker/groups"
	"github.com/chronik-stream/chronik/broker/meta"
	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/chronik-stream/chronik/walcodec"
)

// Seed is a node to join the cluster through.
type Seed struct {
	ID   uint64
	Addr string // host:port of its gRPC listener
}

func (s Seed) String() string { return fmt.Sprintf("%d@%s", s.ID, s.Addr) }

// Defaults of NodeConfig.
const (
	DefaultDataGroups        = 3
	DefaultReplicationFactor = 3
	DefaultMaxVoters         = 5
)

// NodeConfig configures a cluster node.
type NodeConfig struct {
	NodeID  uint64
	DataDir string // <data_dir>: node.id, wal/ (partition logs, __meta with the Raft state)
	// RaftAddr is the advertised gRPC address other nodes dial (cluster.advertised_node_addr).
	RaftAddr  string
	KafkaHost string // advertised Kafka host and port of this node
	KafkaPort int32
	// Seeds are the nodes to join through; empty bootstraps a new cluster when the node has no
	// Raft state yet. This node's own entry is ignored.
	Seeds []Seed
	Raft  Config
	// DataGroups is the number of data replication groups created when the cluster bootstraps
	// (fixed for the cluster's life); ReplicationFactor the replicas per data group (capped at
	// the number of nodes); MaxVoters the voters of the metadata group (3 or 5; further nodes
	// are non-voters).
	DataGroups        int
	ReplicationFactor int
	MaxVoters         int
	// ClusterID names the cluster in Kafka responses when it bootstraps.
	ClusterID string
	WALFormat uint8

	Logs           *storage.Manager // the node's partition logs
	Meta           *meta.Store      // an empty store (meta.NewStore); the node becomes its proposer
	StorageMetrics *storage.Metrics
	// TopicLogConfig maps a topic's configs to its partition logs' settings (kafka.Server's
	// TopicLogConfig); nil: storage defaults for the log format.
	TopicLogConfig func(configs map[string]string) storage.LogConfig
	// Groups configures the consumer-group coordinator run on the metadata leader.
	Groups groups.Config

	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Faults     *Faults // tests only
	// JoinRetry is the first delay between join attempts (doubling up to 5 s); default 200 ms.
	JoinRetry time.Duration
}

func (c *NodeConfig) withDefaults() {
	if c.DataGroups <= 0 {
		c.DataGroups = DefaultDataGroups
	}
	if c.ReplicationFactor <= 0 {
		c.ReplicationFactor = DefaultReplicationFactor
	}
	if c.MaxVoters <= 0 {
		c.MaxVoters = DefaultMaxVoters
	}
	if c.ClusterID == "" {
		c.ClusterID = "chronik"
	}
	if c.WALFormat == 0 {
		c.WALFormat = walcodec.V3
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.JoinRetry <= 0 {
		c.JoinRetry = 200 * time.Millisecond
	}
	if c.Raft == (Config{}) {
		c.Raft = DefaultConfig()
	}
}

func (c *NodeConfig) validate() error {
	var errs []error
	if c.NodeID == 0 {
		errs = append(errs, errors.New("cluster node: node id must be set (cluster.node_id >= 1)"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("cluster node: data dir is empty"))
	}
	if c.RaftAddr == "" {
		errs = append(errs, errors.New("cluster node: advertised node address is empty"))
	}
	if c.Logs == nil || c.Meta == nil {
		errs = append(errs, errors.New("cluster node: partition logs and metadata store are required"))
	}
	if err := c.Raft.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Node is one node of a Chronik Raft cluster: the metadata group, the data groups it holds
// replicas of, membership (join, promotion, removal) and the views the broker needs (Status,
// KafkaCluster, Groups). Create it with NewNode, register its gRPC services on the node's
// server, then Start; Shutdown hands leadership over and stops.
type Node struct {
	cfg    NodeConfig
	id     uint64
	uuid   string
	logger *slog.Logger
	netw   *Network
	store  *meta.Store
	fsm    *metaFSM
	mirror *storage.Log
	walDir string

	metaMu sync.RWMutex
	metaG  *raftGroup // set by Start

	// topicsMu orders partition-log lifecycle (topic deletion) against data-group appends.
	topicsMu sync.RWMutex

	coord    *GroupRouter
	barriers coalescer // metadata read-index barriers (readindex.go)
	metrics  *nodeMetrics
	peers    *peerTracker
	data     *dataGroups

	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	joined   chan struct{}
	fatal    chan error
	leaderCh chan bool // meta leadership transitions for the leader loop

	startOnce, stopOnce sync.Once
	stopErr             error
}

// NewNode validates cfg, loads (or creates) the node UUID and prepares the transport. Register
// the node's services on the gRPC server (Register) before serving it, then call Start.
func NewNode(cfg NodeConfig) (*Node, error) {
	cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	uuid, err := LoadNodeUUID(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	nc := NetworkConfigFrom(cfg.Raft, raft.ServerAddress(cfg.RaftAddr), cfg.Logger)
	nc.Faults = cfg.Faults
	netw, err := NewNetwork(nc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Node{
		cfg:      cfg,
		id:       cfg.NodeID,
		uuid:     uuid,
		logger:   cfg.Logger.With("component", "cluster", "node_id", cfg.NodeID),
		netw:     netw,
		store:    cfg.Meta,
		walDir:   filepath.Join(cfg.DataDir, "wal"),
		ctx:      ctx,
		cancel:   cancel,
		joined:   make(chan struct{}),
		fatal:    make(chan error, 1),
		leaderCh: make(chan bool, 1),
	}
	n.peers = newPeerTracker()
	n.coord = newGroupRouter(cfg.Groups, cfg.Meta, cfg.Logger)
	n.data = newDataGroups(n)
	// The metadata FSM exists from the start (views read it); Start gives it the __meta log.
	n.fsm = newMetaFSM(n.store, nil, n.logger, metaHooks{
		lockTopics:    func() func() { n.topicsMu.Lock(); return n.topicsMu.Unlock },
		topicDeleted:  n.data.topicDeleted,
		topicsChanged: n.data.topicsChanged,
		leader: func() uint64 {
			if g := n.metaGroup(); g != nil {
				id, _ := g.leader()
				return id
			}
			return 0
		},
	})
	n.metrics = newNodeMetrics(n, cfg.Registerer)
	return n, nil
}

// ID is the node id.
func (n *Node) ID() uint64 { return n.id }

// MetaLog is the __meta log the metadata group mirrors its commands into (nil before Start):
// what an online backup of a cluster node should capture with the partition logs.
func (n *Node) MetaLog() *storage.Log { return n.mirror }

// RaftAddr is the node's advertised gRPC address.
func (n *Node) RaftAddr() string { return n.cfg.RaftAddr }

// UUID is the node UUID (<data_dir>/node.id).
func (n *Node) UUID() string { return n.uuid }

// Register adds the Raft transport and the cluster service to s (created with ServerOptions).
func (n *Node) Register(s *grpc.Server) {
	n.netw.Register(s)
	registerClusterService(s, n)
}

// SetTopicLogConfig sets NodeConfig.TopicLogConfig (call before Start).
func (n *Node) SetTopicLogConfig(fn func(configs map[string]string) storage.LogConfig) {
	n.cfg.TopicLogConfig = fn
}

// metaDir is <data_dir>/wal/__meta: the __meta log and the Raft state (raft_*).
func (n *Node) metaDir() string { return filepath.Join(n.walDir, "__meta") }

// self is this node's membership record.
func (n *Node) self() NodeInfo {
	return NodeInfo{ID: n.id, UUID: n.uuid, RaftAddr: n.cfg.RaftAddr, KafkaHost: n.cfg.KafkaHost, KafkaPort: n.cfg.KafkaPort}
}

// seeds are the configured seeds other than this node.
func (n *Node) seeds() []Seed {
	var out []Seed
	for _, s := range n.cfg.Seeds {
		if s.ID != n.id {
			out = append(out, s)
		}
	}
	return out
}

func (n *Node) metaGroup() *raftGroup {
	n.metaMu.RLock()
	defer n.metaMu.RUnlock()
	return n.metaG
}

// Start opens the metadata group — bootstrapping a new cluster when the node has no Raft state
// and no seeds, importing a standalone metadata log found in the data directory — or starts it
// and joins through the seeds in the background; then it starts the data groups and the
// leader's background work. It returns once the metadata group runs (not once joined: see
// Joined).
func (n *Node) Start(ctx context.Context) (err error) {
	started := false
	n.startOnce.Do(func() { started = true; err = n.start(ctx) })
	if !started {
		return errors.New("cluster node: already started")
	}
	return err
}

func (n *Node) start(ctx context.Context) (err error) {
	metaDir := n.metaDir()
	walDir := filepath.Join(metaDir, "raft_wal")
	snapDir := filepath.Join(metaDir, "raft_snapshots")
	var closers []func() error
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				_ = closers[i]()
			}
		}
	}()

	snaps, err := OpenSnapshotStore(snapDir, 0, n.cfg.Logger)
	if err != nil {
		return err
	}
	fresh, err := raftDirEmpty(walDir, snaps)
	if err != nil {
		return err
	}
	bootstrap := fresh && len(n.seeds()) == 0

	if bootstrap {
		// An upgrade from standalone: the metadata log in __meta becomes the cluster's initial
		// metadata (the initial Raft snapshot holds it).
		if err := n.importStandaloneMeta(metaDir); err != nil {
			return err
		}
	}
	n.mirror, err = storage.OpenLog(metaDir, "__meta", 0, mirrorLogConfig(n.cfg.WALFormat), n.cfg.Logger, n.cfg.StorageMetrics)
	if err != nil {
		return fmt.Errorf("opening the metadata log in %s: %w", metaDir, err)
	}
	closers = append(closers, n.mirror.Close)
	n.fsm.mirror = n.mirror // before raft starts applying
	n.store.SetProposer(n)

	spec := groupSpec{name: MetaGroup, walDir: walDir, fsm: n.fsm, snaps: snaps}
	if bootstrap {
		self := n.self()
		if err := n.fsm.cluster.apply(clusterCmd{Op: opInit, ClusterID: n.cfg.ClusterID, ClusterUUID: newUUID(), DataGroups: n.cfg.DataGroups, Node: &self}); err != nil {
			return err
		}
		spec.bootstrap = &raft.Configuration{Servers: []raft.Server{{ID: serverID(n.id), Address: raft.ServerAddress(n.cfg.RaftAddr), Suffrage: raft.Voter}}}
		if err := n.fsm.bootstrapped(n.id); err != nil {
			return err
		}
		n.logger.Info("bootstrapping a new cluster", "node_addr", n.cfg.RaftAddr, "data_groups", n.cfg.DataGroups)
	}
	g, err := openGroup(spec, n.id, n.cfg.Raft, n.netw, n.cfg.Logger, n.onMetaLeader)
	if err != nil {
		return err
	}
	n.fsm.live.Store(true)
	n.metaMu.Lock()
	n.metaG = g
	n.metaMu.Unlock()

	n.goRun(n.leaderLoop)
	n.goRun(n.data.run)
	switch {
	case fresh && !bootstrap:
		n.goRun(n.joinLoop)
	default:
		close(n.joined)
		n.goRun(n.refreshSelf)
	}
	return nil
}

// raftDirEmpty reports whether a group has no Raft state yet (no raft-wal files, no snapshots).
func raftDirEmpty(walDir string, snaps raft.SnapshotStore) (bool, error) {
	list, err := snaps.List()
	if err != nil {
		return false, fmt.Errorf("listing snapshots: %w", err)
	}
	if len(list) > 0 {
		return false, nil
	}
	entries, err := os.ReadDir(walDir)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading raft log dir %s: %w", walDir, err)
	}
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".wal" {
			return false, nil
		}
	}
	return true, nil
}

// mirrorLogConfig is the storage config of the __meta log.
func mirrorLogConfig(format uint8) storage.LogConfig {
	cfg := storage.DefaultLogConfig()
	cfg.Format = format
	cfg.RecordType = walcodec.RecordMetadata
	cfg.SegmentBytes = 16 << 20
	cfg.RetentionMs = -1
	cfg.RetentionBytes = -1
	return cfg
}

// importStandaloneMeta replays a standalone metadata log in dir (if any) into the store.
func (n *Node) importStandaloneMeta(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	old, err := meta.Open(dir, n.cfg.WALFormat, n.cfg.Logger, n.cfg.StorageMetrics)
	if err != nil {
		return fmt.Errorf("importing the standalone metadata log %s: %w", dir, err)
	}
	snap, err := old.Snapshot()
	cerr := old.Close()
	if err != nil {
		return fmt.Errorf("importing the standalone metadata log %s: %w", dir, err)
	}
	if cerr != nil {
		return fmt.Errorf("importing the standalone metadata log %s: %w", dir, cerr)
	}
	if err := n.store.Apply(snap); err != nil {
		return fmt.Errorf("importing the standalone metadata log %s: %w", dir, err)
	}
	if topics := n.store.Topics(); len(topics) > 0 {
		n.logger.Info("imported the standalone metadata log into the cluster", "dir", dir, "topics", len(topics), "groups", len(n.store.Groups()))
	}
	return nil
}

// goRun runs fn in a goroutine Shutdown waits for.
func (n *Node) goRun(fn func(ctx context.Context)) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn(n.ctx)
	}()
}

// onMetaLeader is called by the metadata group's observer on leadership changes.
func (n *Node) onMetaLeader(isLeader bool) {
	select {
	case n.leaderCh <- isLeader:
	default:
		// Keep only the latest transition.
		select {
		case <-n.leaderCh:
		default:
		}
		n.leaderCh <- isLeader
	}
}

// Joined is closed once the node is a member of the cluster (immediately for a node that
// bootstrapped or restarted with Raft state).
func (n *Node) Joined() <-chan struct{} { return n.joined }

// Shutdown hands the leadership of every group this node leads to another voter, stops the
// background work and the Raft groups and closes the metadata log and the transport. It is safe
// to call more than once.
func (n *Node) Shutdown(ctx context.Context) error {
	n.stopOnce.Do(func() {
		var errs []error
		// Leadership first, while everything still runs: clients re-route at once.
		n.data.transferAll(ctx)
		if g := n.metaGroup(); g != nil {
			if err := g.transferLeadership(); err != nil {
				n.logger.Warn("handing over metadata leadership failed", "err", err)
			}
		}
		n.cancel()
		n.wg.Wait()
		n.coord.close()
		errs = append(errs, n.data.shutdown())
		if g := n.metaGroup(); g != nil {
			errs = append(errs, g.shutdown())
		}
		if n.mirror != nil {
			errs = append(errs, n.mirror.Close())
		}
		errs = append(errs, n.netw.Close())
		n.stopErr = errors.Join(errs...)
	})
	return n.stopErr
}

// Leader is the metadata leader's node id (0 when unknown).
func (n *Node) Leader() uint64 {
	g := n.metaGroup()
	if g == nil {
		return 0
	}
	id, _ := g.leader()
	return id
}

// IsLeader reports whether this node leads the metadata group.
func (n *Node) IsLeader() bool {
	g := n.metaGroup()
	return g != nil && g.isLeader()
}

// State returns a copy of the cluster state (members, data groups).
func (n *Node) State() ClusterState {
	s, _ := n.fsm.state()
	return s
}
