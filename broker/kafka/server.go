package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("kafka server closed")

// advertised is the host/port this broker tells clients to connect to.
type advertised struct {
	host string
	port int32
}

// Server serves the Kafka protocol on the listeners passed to Serve.
type Server struct {
	cfg      Config
	deps     Deps
	logger   *slog.Logger
	metrics  *metrics
	topics   *topicManager
	versions [maxAPIKey]versionRange
	apiKeys  []kmsg.ApiVersionsResponseApiKey // advertised ranges, sorted by key

	adv atomic.Pointer[advertised]

	mu      sync.Mutex
	closed  bool
	closing chan struct{} // closed by Close
	serving sync.WaitGroup
}

// NewServer validates cfg (after defaults) and deps and builds a Server. reg may be nil.
func NewServer(cfg Config, deps Deps, logger *slog.Logger, reg prometheus.Registerer) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kafka config: %w", err)
	}
	if err := deps.validate(); err != nil {
		return nil, fmt.Errorf("kafka server: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "kafka")
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		deps:    deps,
		logger:  logger,
		metrics: m,
		closing: make(chan struct{}),
	}
	s.topics = &topicManager{cfg: cfg, meta: deps.Meta, logs: deps.Logs, configs: newConfigTable(cfg), logger: logger, cluster: deps.Cluster}
	keys := make([]int16, 0, 32)
	for _, a := range advertisedAPIs() {
		s.versions[a.key] = versionRange{min: a.min, max: a.max, ok: true}
		s.apiKeys = append(s.apiKeys, kmsg.ApiVersionsResponseApiKey{ApiKey: a.key, MinVersion: a.min, MaxVersion: a.max})
		keys = append(keys, a.key)
	}
	if err := m.prepare(keys); err != nil {
		return nil, err
	}
	if cfg.AdvertisedHost != "" && cfg.AdvertisedPort != 0 {
		s.adv.Store(&advertised{host: cfg.AdvertisedHost, port: cfg.AdvertisedPort})
	}
	return s, nil
}

// OpenExistingTopics opens the partition logs of every topic in meta. Call it once at
// startup, before Serve; logs that fail to open are reported and opened lazily on first use.
func (s *Server) OpenExistingTopics() error {
	return s.topics.openAll()
}

// advertisedAddr is the host and port clients are told to use.
func (s *Server) advertisedAddr() (string, int32) {
	if a := s.adv.Load(); a != nil {
		return a.host, a.port
	}
	host := s.cfg.AdvertisedHost
	if host == "" {
		host = "127.0.0.1"
	}
	return host, s.cfg.AdvertisedPort
}

// resolveAdvertised fills the advertised host/port the config left empty from addr.
func (s *Server) resolveAdvertised(addr net.Addr) {
	if s.adv.Load() != nil {
		return
	}
	host, port := s.cfg.AdvertisedHost, s.cfg.AdvertisedPort
	if h, p, err := net.SplitHostPort(addr.String()); err == nil {
		if host == "" {
			host = h
			if ip := net.ParseIP(h); ip == nil || ip.IsUnspecified() {
				host = "127.0.0.1"
			}
		}
		if port == 0 {
			if n, err := strconv.Atoi(p); err == nil {
				port = int32(n)
			}
		}
	}
	if host == "" {
		host = "127.0.0.1"
	}
	s.adv.CompareAndSwap(nil, &advertised{host: host, port: port})
}

// Serve accepts connections on ln until ctx is done or Close is called. It then stops
// accepting, stops reading new requests, waits up to Config.ShutdownTimeout for in-flight
// requests to be answered, closes every connection and returns nil. An accept error that is
// not temporary is returned (after the same shutdown).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrServerClosed
	}
	s.serving.Add(1)
	s.mu.Unlock()
	defer s.serving.Done()

	s.resolveAdvertised(ln.Addr())
	s.logger.Info("kafka listener started", "addr", ln.Addr().String())

	stop := make(chan struct{})
	var watcher sync.WaitGroup
	watcher.Go(func() {
		select {
		case <-ctx.Done():
		case <-s.closing:
		case <-stop:
		}
		_ = ln.Close()
	})

	set := &connSet{conns: make(map[*conn]struct{})}
	connCtx := context.WithoutCancel(ctx)
	var serveErr error
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || s.isClosing() {
				break
			}
			if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.logger.Warn("accept failed; retrying", "addr", ln.Addr().String(), "err", err, "delay", delay)
				if !s.sleep(ctx, delay) {
					break
				}
				continue
			}
			serveErr = fmt.Errorf("accept on %s: %w", ln.Addr(), err)
			break
		}
		delay = 0
		c := newConn(connCtx, s, nc)
		set.add(c)
		go func() {
			defer set.remove(c)
			c.serve()
		}()
	}
	close(stop)
	watcher.Wait()
	s.drain(set)
	s.logger.Info("kafka listener stopped", "addr", ln.Addr().String())
	return serveErr
}

// isClosing reports whether Close was called.
func (s *Server) isClosing() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// sleep waits d unless ctx is done or the server closes; it reports whether d elapsed.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.closing:
	}
	return false
}

// drain stops reading on every connection, waits for in-flight requests up to the shutdown
// timeout, then closes the connections that remain and waits for them.
func (s *Server) drain(set *connSet) {
	set.each((*conn).stopReading)
	idle := set.idle()
	t := time.NewTimer(s.cfg.ShutdownTimeout)
	defer t.Stop()
	select {
	case <-idle:
		return
	case <-t.C:
	}
	s.logger.Warn("in-flight requests still running after shutdown timeout; closing connections", "timeout", s.cfg.ShutdownTimeout)
	set.each((*conn).forceClose)
	<-idle
}

// Close stops every Serve call (as if its ctx were done) and waits for them to return.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
	}
	s.mu.Unlock()
	s.serving.Wait()
	return nil
}

// connSet tracks the live connections of one listener.
type connSet struct {
	mu    sync.Mutex
	conns map[*conn]struct{}
	wg    sync.WaitGroup
}

func (cs *connSet) add(c *conn) {
	cs.mu.Lock()
	cs.conns[c] = struct{}{}
	cs.wg.Add(1)
	cs.mu.Unlock()
}

func (cs *connSet) remove(c *conn) {
	cs.mu.Lock()
	delete(cs.conns, c)
	cs.mu.Unlock()
	cs.wg.Done()
}

func (cs *connSet) each(fn func(*conn)) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for c := range cs.conns {
		fn(c)
	}
}

// idle returns a channel closed once every connection has finished. The goroutine it starts
// ends when the connections do (drain always waits for it).
func (cs *connSet) idle() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		cs.wg.Wait()
		close(ch)
	}()
	return ch
}
