package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/chronik-stream/chronik/broker/backup"
	"github.com/chronik-stream/chronik/broker/config"
	"github.com/chronik-stream/chronik/broker/console"
	"github.com/chronik-stream/chronik/broker/mirror"
)

// The node's gRPC listener (cluster.node_addr, 9093 by default) serves the console API
// (api/console.proto) in standalone mode; cluster mode registers its Raft transport on the same
// *grpc.Server with WithGRPCService.

// Option configures Start.
type Option func(*startOptions)

type startOptions struct {
	grpcOpts     []grpc.ServerOption
	grpcServices []func(*grpc.Server)
	cluster      func(ClusterEnv) (Cluster, error) // cluster.go: WithCluster
}

// WithGRPCServerOptions passes options (message size limits, keepalive …) to the node's
// grpc.Server.
func WithGRPCServerOptions(opts ...grpc.ServerOption) Option {
	return func(o *startOptions) { o.grpcOpts = append(o.grpcOpts, opts...) }
}

// WithGRPCService registers another service (e.g. the Raft transport) on the node's grpc.Server
// before it starts serving (gRPC refuses registrations after Serve).
func WithGRPCService(register func(*grpc.Server)) Option {
	return func(o *startOptions) { o.grpcServices = append(o.grpcServices, register) }
}

const (
	// clusterID is what the Kafka layer answers in Metadata/DescribeCluster (its default).
	clusterID = "chronik"
	// grpcStopTimeout bounds the graceful stop of the gRPC server at shutdown; calls still
	// running then are cancelled.
	grpcStopTimeout = 5 * time.Second
)

// grpcServer owns the node's gRPC listener, server and console service.
type grpcServer struct {
	cfg     config.Config
	opts    startOptions
	logger  *slog.Logger
	events  *console.Events
	start   time.Time
	srv     *grpc.Server
	console *console.Server
	mirrors *mirror.Manager // the built-in mirror (blue-green), run by serve
	peers   *peerMigrations // the other members' WAL migration states, run by serve
	ln      net.Listener
}

// newGRPCServer prepares the gRPC side of a node and returns the logger every part of the node
// should use: it also records INFO and above in the console's events ring.
func newGRPCServer(cfg config.Config, logger *slog.Logger, opts []Option) (*grpcServer, *slog.Logger) {
	g := &grpcServer{cfg: cfg, events: console.NewEvents(console.DefaultEventCapacity, nil), start: time.Now()}
	for _, o := range opts {
		o(&g.opts)
	}
	g.logger = slog.New(g.events.Handler(logger.Handler(), slog.LevelInfo))
	return g, g.logger
}

// listen binds cluster.node_addr and builds the gRPC server with the console service. The
// node's logs, metadata and groups must be open.
func (g *grpcServer) listen(n *Node) error {
	addr := g.cfg.Cluster.NodeAddr
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("grpc listener on %s (cluster.node_addr): %w", addr, err)
	}
	info := g.nodeInfo(n, ln.Addr())
	src := &nodeSource{n: n, events: g.events, info: info}
	mirrors, err := mirror.Open(mirror.Config{
		Dir:            filepath.Join(g.cfg.DataDir, "mirror"),
		LocalBootstrap: info.KafkaAddr,
		Logger:         g.logger.With("component", "mirror"),
	})
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("mirror state in %s: %w", filepath.Join(g.cfg.DataDir, "mirror"), err)
	}
	var membership console.Membership // cluster mode: AddNode, RemoveNode, TransferLeadership
	if m, ok := n.cluster.(console.Membership); ok && n.cluster != nil {
		membership = m
	}
	cs, err := console.NewServer(console.Config{
		Source:      src,
		Membership:  membership,
		Admin:       standaloneAdmin{n},
		Backuper:    standaloneAdmin{n},
		Mirrors:     mirrors,
		WalMigrator: walMigrator{n.walMig},
		AdminToken:  g.cfg.AdminToken,
		Gatherer:    n.registry,
		Logger:      g.logger,
	})
	if err != nil {
		_ = ln.Close()
		return err
	}
	g.ln, g.console, g.mirrors, g.peers = ln, cs, mirrors, newPeerMigrations(n)
	g.srv = grpc.NewServer(g.opts.grpcOpts...)
	cs.Register(g.srv)
	for _, reg := range g.opts.grpcServices {
		reg(g.srv)
	}
	return nil
}

func (g *grpcServer) nodeInfo(n *Node, bound net.Addr) console.NodeInfo {
	cfg := g.cfg
	nodeAddr := cfg.EffectiveAdvertisedNodeAddr()
	if host, port, err := net.SplitHostPort(nodeAddr); err == nil && port == "0" {
		nodeAddr = net.JoinHostPort(host, portOf(bound))
	}
	mode := console.ModeStandalone
	if n.cluster != nil {
		mode = console.ModeCluster
	}
	return console.NodeInfo{
		ID:                   uint64(cfg.KafkaNodeID()),
		ClusterID:            clusterID,
		Mode:                 mode,
		KafkaAddr:            net.JoinHostPort(cfg.EffectiveAdvertisedHost(), portOf(n.kafkaLn.Addr())),
		HTTPAddr:             n.httpLn.Addr().String(),
		NodeAddr:             nodeAddr,
		DataDir:              cfg.DataDir,
		WALDir:               filepath.Join(cfg.DataDir, "wal"),
		WALFormat:            cfg.WALFormat,
		StartTime:            g.start,
		AdminTokenConfigured: cfg.AdminToken != "",
	}
}

func portOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return strconv.Itoa(t.Port)
	}
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// closeListener undoes listen when a later start step fails.
func (g *grpcServer) closeListener() error {
	if g.ln == nil {
		return nil
	}
	return g.ln.Close()
}

// serve runs the console sampler and the gRPC server until ctx is done, then ends the console
// streams and stops the server gracefully (forcefully after grpcStopTimeout).
func (g *grpcServer) serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		g.console.Run(ctx)
	}()
	go func() {
		defer wg.Done()
		g.peers.run(ctx)
	}()
	go func() {
		defer wg.Done()
		g.mirrors.Run(ctx) // resumes the mirrors that were running; checkpoints them at the end
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- g.srv.Serve(g.ln) }()
	g.logger.Info("console API serving", "grpc", g.ln.Addr().String())

	var err error
	served := false
	select {
	case <-ctx.Done():
	case err = <-serveErr: // the listener failed
		served = true
	}
	cancel()
	wg.Wait() // the console has ended its streams
	stopped := make(chan struct{})
	go func() {
		g.srv.GracefulStop()
		close(stopped)
	}()
	t := time.NewTimer(grpcStopTimeout)
	defer t.Stop()
	select {
	case <-stopped:
	case <-t.C:
		g.logger.Warn("grpc server did not stop in time: cancelling its calls", "timeout", grpcStopTimeout)
		g.srv.Stop()
		<-stopped
	}
	if !served {
		err = <-serveErr
	}
	if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("grpc server on %s: %w", g.ln.Addr(), err)
	}
	return nil
}

// GRPCServer is the node's gRPC server on cluster.node_addr (console API; Raft in cluster mode).
func (n *Node) GRPCServer() *grpc.Server { return n.grpc.srv }

// NodeAddr is the bound gRPC listener address.
func (n *Node) NodeAddr() string { return n.grpc.ln.Addr().String() }

// Events is the node's console events ring (append leader changes, migration steps …).
func (n *Node) Events() *console.Events { return n.grpc.events }

// nodeSource feeds the console from this node. Standalone, the node is the whole cluster and
// its leader; in cluster mode (n.cluster set) members, leader, partition leaders and group
// counts come from the cluster, and what this node cannot know is reported as unknown.
type nodeSource struct {
	n      *Node
	events *console.Events
	info   console.NodeInfo
}

// Node is the node's description; its WAL format follows a format pin written by a live
// migration (new records are V3 from then on, whatever wal_format says).
func (s *nodeSource) Node() console.NodeInfo {
	info := s.info
	if pin, err := s.n.logs.PinnedFormat(); err == nil && pin > info.WALFormat {
		info.WALFormat = pin
	}
	return info
}

func (s *nodeSource) Members() []console.Member {
	if s.n.cluster == nil {
		return []console.Member{{
			ID: s.info.ID, Addr: s.info.NodeAddr, KafkaAddr: s.info.KafkaAddr,
			Role: console.RoleLeader, Voter: true,
		}}
	}
	kafkaAddrs := map[uint64]string{}
	if kc := s.n.kafkaCluster(); kc != nil {
		for _, b := range kc.Brokers() {
			kafkaAddrs[uint64(b.NodeID)] = net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
		}
	}
	var out []console.Member
	for _, m := range s.n.cluster.Status().Members() {
		role := roleOf(m.State)
		out = append(out, console.Member{
			ID: m.NodeID, Addr: m.Addr, KafkaAddr: kafkaAddrs[m.NodeID], Role: role,
			Voter: m.Voter, Term: m.Term, LastContact: m.LastContact, ReplicationLag: m.Lag,
		})
	}
	return out
}

// roleOf maps an /admin/cluster/members state to a console role.
func roleOf(state string) console.Role {
	switch state {
	case "leader":
		return console.RoleLeader
	case "follower":
		return console.RoleFollower
	case "candidate":
		return console.RoleCandidate
	case "nonvoter":
		return console.RoleNonvoter
	case "shutdown":
		return console.RoleShutdown
	case "unreachable":
		return console.RoleUnreachable
	case "joining":
		return console.RoleJoining
	}
	return console.RoleUnknown
}

func (s *nodeSource) Leader() (uint64, bool) {
	if s.n.cluster == nil {
		return s.info.ID, true
	}
	m, ok := s.n.cluster.Status().Leader()
	return m.NodeID, ok
}

func (s *nodeSource) Topics() []console.Topic {
	kc := s.n.kafkaCluster()
	ts := s.n.meta.Topics()
	out := make([]console.Topic, 0, len(ts))
	for _, t := range ts {
		ct := console.Topic{Name: t.Name, ReplicationFactor: t.ReplicationFactor}
		for p := range t.Partitions {
			cp := console.Partition{Partition: p, Leader: s.info.ID, Replicas: []uint64{s.info.ID}, HighWatermark: -1, LogStartOffset: -1}
			if kc != nil {
				leader, replicas := kc.Partition(t.Name, p)
				cp.Leader, cp.Replicas = 0, nil
				if leader >= 0 {
					cp.Leader = uint64(leader)
				}
				for _, r := range replicas {
					cp.Replicas = append(cp.Replicas, uint64(r))
				}
			}
			if l, ok := s.n.logs.Get(t.Name, p); ok {
				cp.HighWatermark, cp.LogStartOffset = l.HighWatermark(), l.LogStartOffset()
			}
			ct.Partitions = append(ct.Partitions, cp)
		}
		out = append(out, ct)
	}
	return out
}

func (s *nodeSource) CommittedOffsets() map[console.TopicPartition]int64 {
	out := map[console.TopicPartition]int64{}
	for _, g := range s.n.meta.Groups() {
		for _, o := range s.n.meta.GroupOffsets(g.Name) {
			if o.Offset >= 0 {
				out[console.TopicPartition{Topic: o.Topic, Partition: o.Partition}] += o.Offset
			}
		}
	}
	return out
}

func (s *nodeSource) GroupCounts() map[string]int {
	if s.n.cluster != nil {
		return s.n.cluster.Groups().GroupCount()
	}
	return s.n.groups.GroupCount()
}

// Migration is this node's WAL migration state, then (cluster mode) the other members' as they
// last answered (peermigration.go).
func (s *nodeSource) Migration() []console.MigrationNode {
	return append([]console.MigrationNode{s.n.walMig.Progress()}, s.n.grpc.peers.get()...)
}

// walMigrator starts the live WAL migration for the console.
type walMigrator struct{ m *liveMigration }

func (w walMigrator) StartWalMigration(workers int, skipErrors bool) (string, error) {
	return w.m.Start(workers, skipErrors)
}

func (s *nodeSource) DiskStats() (int, int64) { return brokerSource{s.n}.DiskStats() }

func (s *nodeSource) Events() *console.Events { return s.events }

// Changes: every partition log and the metadata log (topic, group and offset changes; standalone
// only) signal their next high watermark advance.
func (s *nodeSource) Changes() []<-chan struct{} {
	logs := s.n.logs.Logs()
	out := make([]<-chan struct{}, 0, len(logs)+1)
	if ml := s.n.metaLog(); ml != nil {
		out = append(out, ml.Changed())
	}
	for _, pl := range logs {
		out = append(out, pl.Log.Changed())
	}
	return out
}

// standaloneAdmin sets high watermarks on the node's own logs.
type standaloneAdmin struct{ n *Node }

func (a standaloneAdmin) SetHighWatermark(_ context.Context, topic string, partition int32, offset int64) (int64, int64, error) {
	if a.n.cluster != nil {
		return 0, 0, errSetHWMCluster
	}
	l, ok := a.n.logs.Get(topic, partition)
	if !ok {
		return 0, 0, fmt.Errorf("set high watermark of topic %s partition %d: %w", topic, partition, console.ErrNotFound)
	}
	prev, err := l.SetHighWatermark(offset)
	if err != nil {
		return prev, prev, err
	}
	return prev, l.HighWatermark(), nil
}

// Backup writes an online backup (the same archive as GET /admin/backup) to path on this node.
func (a standaloneAdmin) Backup(ctx context.Context, path string, progress func(console.BackupProgress)) (_ console.BackupProgress, err error) {
	n := a.n
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return console.BackupProgress{}, fmt.Errorf("creating backup file %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(path)
		}
	}()
	cut, err := n.logs.CaptureCut(n.metaLog())
	if err != nil {
		return console.BackupProgress{}, fmt.Errorf("backup to %s: %w", path, err)
	}
	src, err := backup.FromCut(cut, filepath.Join(n.cfg.DataDir, "wal"), "online node "+n.HTTPAddr()+" data dir "+n.cfg.DataDir)
	if err != nil {
		return console.BackupProgress{}, fmt.Errorf("backup to %s: %w", path, err)
	}
	defer src.Close()
	p := console.BackupProgress{Path: path, FilesTotal: len(src.Files)}
	for _, sf := range src.Files {
		p.BytesInput += sf.Size
	}
	progress(p)
	cw := &countingWriter{w: f, onWrite: func(total int64) { p.BytesWritten = total; progress(p) }}
	m, err := backup.Write(ctx, cw, src, backup.Options{WALFormat: n.cfg.WALFormat})
	if err != nil {
		return p, fmt.Errorf("backup to %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return p, fmt.Errorf("backup to %s: fsync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return p, fmt.Errorf("backup to %s: %w", path, err)
	}
	p.FilesDone = len(m.Files)
	n.logger.Info("backup written", "path", path, "files", len(m.Files), "bytes", cw.n, "topics", len(m.Topics), "partitions", len(m.Partitions))
	return p, nil
}

// countingWriter reports the running total of bytes written.
type countingWriter struct {
	w       io.Writer
	n       int64
	onWrite func(total int64)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	k, err := c.w.Write(b)
	c.n += int64(k)
	c.onWrite(c.n)
	return k, err
}
