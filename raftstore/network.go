package raftstore

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/chronik-stream/chronik/raftstore/raftpb"
)

// MaxMessageSize is the gRPC message limit, both ways, of the Raft transport: a raft-wal entry can
// hold 64 MiB, plus 1 MiB of slack for framing. AppendEntries requests larger than
// maxAppendBytes are split into several RPCs (see splitAppend), so only a single oversized entry
// can hit this limit.
const MaxMessageSize = 64<<20 + 1<<20

// maxAppendBytes is the size above which an AppendEntries request is split.
const maxAppendBytes = 64 << 20

// snapshotChunkSize is the data carried by one InstallSnapshot stream message.
const snapshotChunkSize = 1 << 20

// ServerOptions are the options the node's *grpc.Server must be created with so that it accepts
// Raft messages up to MaxMessageSize.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxMessageSize),
		grpc.MaxSendMsgSize(MaxMessageSize),
	}
}

// NetworkConfig configures a node's Network.
type NetworkConfig struct {
	// LocalAddr is the address other nodes dial to reach this node (the advertised node address).
	// Every GroupTransport reports it as raft's LocalAddr.
	LocalAddr raft.ServerAddress
	// Deadlines of outgoing calls; zero value → DefaultConfig().Deadlines().
	Deadlines Deadlines
	// EnablePipeline and MaxInFlight: see Config.
	EnablePipeline bool
	MaxInFlight    int
	// Faults, if set, injects faults into this node's outgoing calls (tests only).
	Faults *Faults
	// DialOptions are appended to the defaults (insecure credentials, message limits, backoff);
	// later options win, e.g. grpc.WithTransportCredentials for TLS.
	DialOptions []grpc.DialOption
	Logger      *slog.Logger
}

// NetworkConfigFrom fills a NetworkConfig from the node's Raft Config.
func NetworkConfigFrom(c Config, local raft.ServerAddress, logger *slog.Logger) NetworkConfig {
	return NetworkConfig{
		LocalAddr:      local,
		Deadlines:      c.Deadlines(),
		EnablePipeline: c.EnablePipeline,
		MaxInFlight:    c.MaxInFlight,
		Logger:         logger,
	}
}

// Network is a node's side of the Raft transport: the gRPC service (Register) that demultiplexes
// incoming calls by group id, and the client connections to peers shared by all groups. Each
// raft.Raft gets its own view with Transport(group).
type Network struct {
	cfg        NetworkConfig
	logger     *slog.Logger
	splitBytes int // maxAppendBytes; lowered by tests

	mu     sync.Mutex
	closed bool
	groups map[string]*GroupTransport
	peers  map[raft.ServerAddress]*peerConns
}

// peerConns are the two connections to one peer: control carries heartbeats, votes and
// TimeoutNow so they never queue behind bulk appends and snapshots on bulk.
type peerConns struct {
	control, bulk *grpc.ClientConn
	controlClient pb.RaftTransportClient
	bulkClient    pb.RaftTransportClient
}

// NewNetwork returns a Network for the node reachable at cfg.LocalAddr.
func NewNetwork(cfg NetworkConfig) (*Network, error) {
	if cfg.LocalAddr == "" {
		return nil, fmt.Errorf("raft network: empty local address")
	}
	if cfg.Deadlines == (Deadlines{}) {
		cfg.Deadlines = DefaultConfig().Deadlines()
	}
	if cfg.EnablePipeline && cfg.MaxInFlight < 1 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Network{
		cfg:        cfg,
		logger:     logger.With("component", "raft-transport", "local", string(cfg.LocalAddr)),
		splitBytes: maxAppendBytes,
		groups:     make(map[string]*GroupTransport),
		peers:      make(map[raft.ServerAddress]*peerConns),
	}, nil
}

// LocalAddr is the node's advertised Raft address.
func (n *Network) LocalAddr() raft.ServerAddress { return n.cfg.LocalAddr }

// Register adds the Raft transport service to s. Create s with ServerOptions().
func (n *Network) Register(s *grpc.Server) {
	pb.RegisterRaftTransportServer(s, &service{n: n})
}

// Transport returns the raft.Transport of one group on this node. There is one view per group
// id: calling Transport again before the view is closed returns the same view. raft.Raft closes
// its transport on Shutdown, after which the id can be used again.
func (n *Network) Transport(group string) *GroupTransport {
	n.mu.Lock()
	defer n.mu.Unlock()
	if t, ok := n.groups[group]; ok {
		return t
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &GroupTransport{
		n:         n,
		group:     group,
		consumeCh: make(chan raft.RPC),
		ctx:       ctx,
		cancel:    cancel,
		pipelines: make(map[*pipeline]struct{}),
	}
	if n.closed {
		t.markClosed()
		return t
	}
	n.groups[group] = t
	return t
}

// group returns the open view of a group, for incoming calls.
func (n *Network) group(id string) (*GroupTransport, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, ok := n.groups[id]
	return t, ok
}

func (n *Network) removeGroup(t *GroupTransport) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.groups[t.group] == t {
		delete(n.groups, t.group)
	}
}

// conns returns the connections to target, creating them on first use. gRPC reconnects them
// with exponential backoff when the peer goes away.
func (n *Network) conns(target raft.ServerAddress) (*peerConns, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, raft.ErrTransportShutdown
	}
	if p, ok := n.peers[target]; ok {
		return p, nil
	}
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(MaxMessageSize),
			grpc.MaxCallSendMsgSize(MaxMessageSize),
		),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  50 * time.Millisecond,
				Multiplier: 1.6,
				Jitter:     0.2,
				MaxDelay:   time.Second,
			},
			MinConnectTimeout: time.Second,
		}),
	}, n.cfg.DialOptions...)
	control, err := grpc.NewClient(string(target), opts...)
	if err != nil {
		return nil, fmt.Errorf("raft transport: connecting to %s: %w", target, err)
	}
	bulk, err := grpc.NewClient(string(target), opts...)
	if err != nil {
		_ = control.Close()
		return nil, fmt.Errorf("raft transport: connecting to %s: %w", target, err)
	}
	p := &peerConns{
		control:       control,
		bulk:          bulk,
		controlClient: pb.NewRaftTransportClient(control),
		bulkClient:    pb.NewRaftTransportClient(bulk),
	}
	n.peers[target] = p
	return p, nil
}

// Close closes every group view still open and every peer connection. It does not stop the
// grpc.Server the service was registered on.
func (n *Network) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	groups := make([]*GroupTransport, 0, len(n.groups))
	for _, t := range n.groups {
		groups = append(groups, t)
	}
	peers := n.peers
	n.peers = nil
	n.mu.Unlock()

	for _, t := range groups {
		_ = t.Close()
	}
	var first error
	for addr, p := range peers {
		for _, c := range []*grpc.ClientConn{p.control, p.bulk} {
			if err := c.Close(); err != nil && first == nil {
				first = fmt.Errorf("closing connection to %s: %w", addr, err)
			}
		}
	}
	return first
}

// clusterClient returns a ClusterService client for the node at target (over the bulk
// connection, so that proposals never delay heartbeats).
func (n *Network) clusterClient(target raft.ServerAddress) (pb.ClusterServiceClient, error) {
	if v := n.cfg.Faults.decide(n.cfg.LocalAddr, target, "Cluster"); v.dropRequest {
		return nil, fmt.Errorf("cluster call to %s: %w", target, ErrInjectedFault)
	}
	p, err := n.conns(target)
	if err != nil {
		return nil, err
	}
	return pb.NewClusterServiceClient(p.bulk), nil
}
