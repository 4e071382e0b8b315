package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// ErrNotFound is wrapped by Admin errors for an unknown topic or partition.
var ErrNotFound = errors.New("unknown topic or partition")

// Config configures a Server. Zero durations take the defaults in brackets.
type Config struct {
	Source     Source     // required
	Admin      Admin      // nil: SetHighWatermark answers UNIMPLEMENTED
	Membership Membership // nil (standalone): AddNode/RemoveNode/TransferLeadership answer UNIMPLEMENTED
	Backuper   Backuper   // nil: Backup answers UNIMPLEMENTED
	Mirrors    Mirrors    // nil: the Mirror RPCs answer UNIMPLEMENTED
	// WalMigrator converts the WAL of the running node; nil: StartWalMigration answers UNIMPLEMENTED.
	WalMigrator WalMigrator
	// AdminToken guards mutating RPCs; "" refuses them all (UNAUTHENTICATED).
	AdminToken string
	// Gatherer is the node's metrics registry, for the "Prometheus metrics healthy" check; nil
	// skips it.
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger     // nil: slog.Default()
	Now      func() time.Time // nil: time.Now

	MinInterval       time.Duration // [250ms] at most one state per MinInterval
	SampleInterval    time.Duration // [1s] sample at least this often without a change signal
	HeartbeatInterval time.Duration // [2s] heartbeat after this long without a state
	RateWindow        time.Duration // [5s] window of the produce/consume rates
	MigrationInterval time.Duration // [5s] re-read Source.Migration at most this often
	InitialEvents     int           // [100] events in a stream's first state unless it asks
	// ProduceConsumeTimeout bounds the produce/consume validation check [10s].
	ProduceConsumeTimeout time.Duration
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.MinInterval, 250*time.Millisecond)
	def(&c.SampleInterval, time.Second)
	def(&c.HeartbeatInterval, 2*time.Second)
	def(&c.RateWindow, 5*time.Second)
	def(&c.MigrationInterval, 5*time.Second)
	def(&c.ProduceConsumeTimeout, 10*time.Second)
	if c.InitialEvents <= 0 {
		c.InitialEvents = 100
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Server implements consolepb.ConsoleServiceServer. Register it on a grpc.Server, call Run in
// a goroutine the caller waits for, and cancel Run's context to stop it: that also ends every
// WatchCluster stream, so a GracefulStop of the grpc.Server can complete.
type Server struct {
	consolepb.UnimplementedConsoleServiceServer

	cfg    Config
	src    Source
	events *Events
	logger *slog.Logger

	mu          sync.Mutex
	state       *consolepb.ClusterState // latest published state (events, heartbeat, time unset)
	updated     chan struct{}           // closed and replaced at every publish
	leaderID    uint64
	leaderSince time.Time
	lastBackup  *BackupProgress // the last verified backup (Preflight's "Backup existing data")

	stopped  chan struct{} // closed when Run returns (or by Close)
	stopOnce sync.Once

	smp sampler // owned by Run
}

// NewServer checks cfg and builds a Server.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Source == nil {
		return nil, fmt.Errorf("console: Config.Source is required")
	}
	if cfg.Source.Events() == nil {
		return nil, fmt.Errorf("console: Source.Events() returned nil")
	}
	cfg.setDefaults()
	s := &Server{
		cfg:     cfg,
		src:     cfg.Source,
		events:  cfg.Source.Events(),
		logger:  cfg.Logger,
		updated: make(chan struct{}),
		stopped: make(chan struct{}),
	}
	s.smp = newSampler(s)
	return s, nil
}

// Register adds the console service to r (a *grpc.Server).
func (s *Server) Register(r grpc.ServiceRegistrar) {
	consolepb.RegisterConsoleServiceServer(r, s)
}

// Run samples the node and publishes states until ctx is done, then ends every WatchCluster
// stream. Call it once.
func (s *Server) Run(ctx context.Context) {
	defer s.Close()
	s.smp.run(ctx)
}

// Close ends every WatchCluster stream (they answer UNAVAILABLE). Run calls it on exit; it is
// safe to call more than once.
func (s *Server) Close() {
	s.stopOnce.Do(func() { close(s.stopped) })
}

// latest returns the newest published state and the channel closed at the next publish.
func (s *Server) latest() (*consolepb.ClusterState, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state, s.updated
}

// publish makes st the latest state and wakes the streams.
func (s *Server) publish(st *consolepb.ClusterState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = st
	close(s.updated)
	s.updated = make(chan struct{})
}

// leadership is the known leader and since when it has led (as observed by the sampler).
func (s *Server) leadership() (id uint64, since time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leaderID, s.leaderSince
}

func (s *Server) setLeadership(id uint64, since time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leaderID, s.leaderSince = id, since
}
