package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/chronik-stream/chronik/broker/config"
	"github.com/chronik-stream/chronik/broker/groups"
	"github.com/chronik-stream/chronik/broker/httpapi"
	"github.com/chronik-stream/chronik/broker/kafka"
	"github.com/chronik-stream/chronik/broker/meta"
	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/chronik-stream/chronik/broker/walmigrate"
)

// Node is one running standalone broker.
type Node struct {
	cfg    config.Config
	logger *slog.Logger

	registry *prometheus.Registry
	logs     *storage.Manager
	meta     *meta.Store
	groups   *groups.Coordinator
	kafka    *kafka.Server
	http     *http.Server
	grpc     *grpcServer    // console API (and Raft in cluster mode) on cluster.node_addr; grpc.go
	cluster  Cluster        // cluster.go: Raft mode (WithCluster); nil standalone
	walMig   *liveMigration // walmigration.go: StartWalMigration of the console

	kafkaLn net.Listener
	httpLn  net.Listener
	dirLock *DataDirLock // lock.go: one broker per data dir

	cancel   context.CancelFunc // stops the background loops and the Kafka server
	wg       sync.WaitGroup
	errMu    sync.Mutex
	serveErr error
	stopOnce sync.Once
	stopErr  error
	done     chan struct{}
}

// Start opens the data directory, recovers every log, binds the Kafka and HTTP listeners
// and serves until Shutdown (or until ctx is done, which triggers Shutdown).
func Start(ctx context.Context, cfg config.Config, logger *slog.Logger, opts ...Option) (_ *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	gs, logger := newGRPCServer(cfg, logger, opts)
	n := &Node{cfg: cfg, logger: logger, registry: prometheus.NewRegistry(), done: make(chan struct{}), grpc: gs}
	n.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Undo whatever was opened if a later step fails.
	var closers []func() error
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				if cerr := closers[i](); cerr != nil {
					logger.Warn("closing after failed start", "err", cerr)
				}
			}
		}
	}()

	if n.dirLock, err = LockDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	closers = append(closers, n.dirLock.Release)
	walDir := filepath.Join(cfg.DataDir, "wal")
	// A live migration's pin raises wal_format 2 to 3 (every part of the node, cluster mode too).
	if cfg.WALFormat, err = walmigrate.EffectiveFormat(walDir, cfg.WALFormat, logger); err != nil {
		return nil, err
	}
	n.cfg = cfg
	if err := walmigrate.MigrateOnStart(ctx, walDir, cfg.WALFormat, logger); err != nil { // wal_format 3: convert V2 segments in place
		return nil, err
	}
	smetrics := storage.NewMetrics(n.registry)
	n.logs = storage.NewManager(walDir, logger, smetrics)
	closers = append(closers, n.logs.Close)

	gcfg := groups.Config{
		TopicExists: func(topic string, partition int32) bool {
			t, ok := n.meta.Topic(topic)
			return ok && partition >= 0 && partition < t.Partitions
		},
	}
	if open := n.grpc.opts.cluster; open != nil { // cluster.go: replicated metadata and groups
		if err := n.openCluster(open, smetrics, gcfg); err != nil {
			return nil, err
		}
		closers = append(closers, func() error { return n.shutdownCluster(context.Background()) })
	} else {
		n.meta, err = meta.Open(filepath.Join(walDir, "__meta"), cfg.WALFormat, logger, smetrics)
		if err != nil {
			return nil, fmt.Errorf("opening metadata log in %s: %w", filepath.Join(walDir, "__meta"), err)
		}
	}
	closers = append(closers, n.meta.Close)

	n.groups = groups.NewCoordinator(gcfg, n.meta, logger, n.registry)
	if n.cluster != nil {
		n.groups.Close() // the cluster's coordinator serves the group APIs
	}
	closers = append(closers, func() error { n.groups.Close(); return nil })

	n.kafka, err = kafka.NewServer(kafka.Config{
		NodeID:                   cfg.KafkaNodeID(),
		AdvertisedHost:           cfg.EffectiveAdvertisedHost(),
		AdvertisedPort:           int32(cfg.KafkaPort),
		AutoCreateTopics:         cfg.AutoCreateTopics,
		DefaultPartitions:        cfg.DefaultPartitions,
		DefaultReplicationFactor: n.defaultReplicationFactor(),
		WALFormat:                cfg.WALFormat,
		SegmentBytes:             cfg.SegmentBytes,
		SegmentMs:                cfg.SegmentMs,
		RetentionMs:              cfg.RetentionMs,
		RetentionBytes:           cfg.RetentionBytes,
	}, kafka.Deps{Logs: n.logs, Meta: n.meta, Groups: n.groupsAPI(), Cluster: n.kafkaCluster()}, logger, n.registry)
	if err != nil {
		return nil, fmt.Errorf("configuring the kafka server: %w", err)
	}
	if err := n.kafka.OpenExistingTopics(); err != nil {
		return nil, fmt.Errorf("opening topic logs: %w", err)
	}

	n.walMig = newLiveMigration(n)
	closers = append(closers, func() error { n.walMig.Close(); return nil })
	n.registry.MustRegister(httpapi.NewBrokerCollector(brokerSource{n}))
	api := httpapi.NewServer(httpapi.Config{AdminToken: cfg.AdminToken}, n.status(), n.registry, logger)
	n.registerAdmin(api) // admin.go: /admin/set-hwm, /admin/backup
	if n.cluster != nil {
		n.cluster.RegisterAdmin(api)
	}

	kafkaAddr := net.JoinHostPort(cfg.BindHost, strconv.Itoa(cfg.KafkaPort))
	if n.kafkaLn, err = net.Listen("tcp", kafkaAddr); err != nil {
		return nil, fmt.Errorf("kafka listener on %s (kafka_port): %w", kafkaAddr, err)
	}
	closers = append(closers, n.kafkaLn.Close)
	httpAddr := net.JoinHostPort(cfg.BindHost, strconv.Itoa(cfg.HTTPPort))
	if n.httpLn, err = net.Listen("tcp", httpAddr); err != nil {
		return nil, fmt.Errorf("http listener on %s (http_port): %w", httpAddr, err)
	}
	closers = append(closers, n.httpLn.Close)
	if err := n.grpc.listen(n); err != nil {
		return nil, err
	}
	closers = append(closers, n.grpc.closeListener)
	if err := n.startCluster(ctx); err != nil {
		return nil, err
	}
	n.http = &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}

	runCtx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.goRun("groups", func() error { n.groups.Run(runCtx); return nil })
	n.goRun("retention", func() error { n.logs.Run(runCtx); return nil })
	n.goRun("kafka", func() error { return n.kafka.Serve(runCtx, n.kafkaLn) })
	n.goRun("grpc", func() error { return n.grpc.serve(runCtx) })
	n.goRun("cluster", func() error { return n.watchCluster(runCtx) })
	n.goRun("http", func() error {
		if err := n.http.Serve(n.httpLn); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	go func() {
		select {
		case <-ctx.Done():
			_ = n.Shutdown(context.Background())
		case <-n.done:
		}
	}()
	logger.Info("chronik broker started",
		"kafka", n.kafkaLn.Addr().String(), "http", n.httpLn.Addr().String(),
		"data_dir", cfg.DataDir, "wal_format", cfg.WALFormat, "topics", len(n.meta.Topics()))
	return n, nil
}

// goRun runs fn in a goroutine the node waits for; an error from a server loop stops the node.
func (n *Node) goRun(name string, fn func() error) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := fn(); err != nil {
			n.errMu.Lock()
			if n.serveErr == nil {
				n.serveErr = fmt.Errorf("%s: %w", name, err)
			}
			n.errMu.Unlock()
			n.logger.Error("server loop failed", "loop", name, "err", err)
			go func() { _ = n.Shutdown(context.Background()) }()
		}
	}()
}

// KafkaAddr is the bound Kafka listener address.
func (n *Node) KafkaAddr() string { return n.kafkaLn.Addr().String() }

// HTTPAddr is the bound HTTP listener address.
func (n *Node) HTTPAddr() string { return n.httpLn.Addr().String() }

// Done is closed when the node has stopped.
func (n *Node) Done() <-chan struct{} { return n.done }

// Err is the first server-loop failure, if any (valid after Done).
func (n *Node) Err() error {
	n.errMu.Lock()
	defer n.errMu.Unlock()
	return n.serveErr
}

// Shutdown stops accepting connections, lets in-flight Kafka requests finish, stops HTTP,
// then fsyncs and closes every log. It is safe to call more than once.
func (n *Node) Shutdown(ctx context.Context) error {
	n.stopOnce.Do(func() {
		n.logger.Info("shutting down: finishing in-flight requests")
		cerr := n.shutdownCluster(ctx) // cluster.go: hand leadership over, stop the Raft groups
		n.cancel()                     // the Kafka server stops accepting and drains; loops stop
		herr := n.http.Shutdown(ctx)
		n.wg.Wait()
		n.walMig.Close() // before the logs it converts are closed
		n.groups.Close()
		merr := n.meta.Close()
		lerr := n.logs.Close()
		n.stopErr = errors.Join(cerr, herr, merr, lerr, n.dirLock.Release())
		if n.stopErr == nil {
			n.logger.Info("shutdown complete: all logs fsynced and closed")
		}
		close(n.done)
	})
	<-n.done
	return n.stopErr
}
