package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultRetentionCheckInterval is how often Manager.Run enforces retention
// and rolls old segments.
const DefaultRetentionCheckInterval = 30 * time.Second

// metaTopic is the directory of the metadata log under the root; the Manager
// refuses it as a topic name.
const metaTopic = "__meta"

// PartitionLog names one log of a Manager.
type PartitionLog struct {
	Topic     string
	Partition int32
	Log       *Log
}

type partKey struct {
	topic     string
	partition int32
}

// openEntry is a log being opened or open; ready is closed when log/err are set.
type openEntry struct {
	ready chan struct{}
	log   *Log
	err   error
}

// Manager owns the partition logs of a broker under <root>/<topic>/<partition>.
type Manager struct {
	// RetentionCheckInterval is Run's period (default 30s); set it before Run.
	RetentionCheckInterval time.Duration

	root    string
	logger  *slog.Logger
	metrics *Metrics

	mu     sync.Mutex
	logs   map[partKey]*openEntry
	closed bool
	pin    formatFloor // format.go: WAL format pin of root
}

// NewManager returns a Manager for root (the broker's <data_dir>/wal).
// logger and m may be nil.
func NewManager(root string, logger *slog.Logger, m *Metrics) *Manager {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Manager{
		RetentionCheckInterval: DefaultRetentionCheckInterval,
		root:                   root,
		logger:                 logger,
		metrics:                m,
		logs:                   map[partKey]*openEntry{},
	}
}

// checkTopicName refuses names that are not a safe single path element.
func checkTopicName(topic string) error {
	switch {
	case topic == "" || topic == "." || topic == "..":
		return fmt.Errorf("storage: invalid topic name %q", topic)
	case strings.ContainsAny(topic, "/\\\x00"):
		return fmt.Errorf("storage: invalid topic name %q: contains a path separator or NUL", topic)
	case topic == metaTopic:
		return fmt.Errorf("storage: topic name %q is reserved for the metadata log", topic)
	}
	return nil
}

// Dir is the directory of a partition's log.
func (m *Manager) Dir(topic string, partition int32) string {
	return filepath.Join(m.root, topic, strconv.FormatInt(int64(partition), 10))
}

// Open returns the partition's log, opening (and recovering) it on first use.
// Later calls return the same log; cfg is only used by the first.
func (m *Manager) Open(topic string, partition int32, cfg LogConfig) (*Log, error) {
	if err := checkTopicName(topic); err != nil {
		return nil, err
	}
	if partition < 0 {
		return nil, fmt.Errorf("storage: open topic %s: invalid partition %d", topic, partition)
	}
	key := partKey{topic, partition}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, fmt.Errorf("storage: open topic %s partition %d: manager %w", topic, partition, ErrClosed)
	}
	if e, ok := m.logs[key]; ok {
		m.mu.Unlock()
		<-e.ready
		return e.log, e.err
	}
	e := &openEntry{ready: make(chan struct{})}
	m.logs[key] = e
	floor, err := m.formatFloorLocked()
	m.mu.Unlock()

	if err == nil {
		cfg = m.applyFloor(cfg, floor)
		e.log, e.err = OpenLog(m.Dir(topic, partition), topic, partition, cfg, m.logger, m.metrics)
		if e.err == nil && floor > 0 {
			e.log.raiseMinFormat(floor)
		}
	} else {
		e.err = fmt.Errorf("storage: open topic %s partition %d: %w", topic, partition, err)
	}
	if e.err != nil {
		m.mu.Lock()
		delete(m.logs, key)
		m.mu.Unlock()
	}
	close(e.ready)
	return e.log, e.err
}

// Get returns an open log.
func (m *Manager) Get(topic string, partition int32) (*Log, bool) {
	m.mu.Lock()
	e, ok := m.logs[partKey{topic, partition}]
	m.mu.Unlock()
	if !ok {
		return nil, false
	}
	<-e.ready
	return e.log, e.err == nil
}

// Logs lists the open logs sorted by topic and partition.
func (m *Manager) Logs() []PartitionLog {
	m.mu.Lock()
	entries := make(map[partKey]*openEntry, len(m.logs))
	for k, e := range m.logs {
		entries[k] = e
	}
	m.mu.Unlock()
	out := make([]PartitionLog, 0, len(entries))
	for k, e := range entries {
		<-e.ready
		if e.err == nil {
			out = append(out, PartitionLog{Topic: k.topic, Partition: k.partition, Log: e.log})
		}
	}
	slices.SortFunc(out, func(a, b PartitionLog) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out
}

// DeleteTopic closes the topic's logs and removes its directory.
func (m *Manager) DeleteTopic(topic string) error {
	if err := checkTopicName(topic); err != nil {
		return err
	}
	m.mu.Lock()
	var entries []*openEntry
	for k, e := range m.logs {
		if k.topic == topic {
			entries = append(entries, e)
			delete(m.logs, k)
		}
	}
	m.mu.Unlock()
	var errs []error
	for _, e := range entries {
		<-e.ready
		if e.err == nil {
			if err := e.log.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	dir := filepath.Join(m.root, topic)
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, fmt.Errorf("storage: delete topic %s: %w", topic, err))
	} else if err := SyncDir(m.root); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("storage: delete topic %s: %w", topic, err))
	}
	return errors.Join(errs...)
}

// Run enforces retention and rolls old segments of every log each
// RetentionCheckInterval until ctx is done. Call it once, in a goroutine the
// caller waits for.
func (m *Manager) Run(ctx context.Context) {
	interval := m.RetentionCheckInterval
	if interval <= 0 {
		interval = DefaultRetentionCheckInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			m.housekeep(ctx, now)
		}
	}
}

// housekeep runs one retention and age-roll pass.
func (m *Manager) housekeep(ctx context.Context, now time.Time) {
	for _, pl := range m.Logs() {
		if ctx.Err() != nil {
			return
		}
		if err := pl.Log.RollIfOld(now); err != nil && !errors.Is(err, ErrClosed) {
			m.logger.Warn("segment roll failed", "topic", pl.Topic, "partition", pl.Partition, "err", err)
		}
		if err := pl.Log.EnforceRetention(now); err != nil && !errors.Is(err, ErrClosed) {
			m.logger.Warn("retention failed", "topic", pl.Topic, "partition", pl.Partition, "err", err)
		}
	}
}

// Close closes every log; the Manager opens no more.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	entries := m.logs
	m.logs = map[partKey]*openEntry{}
	m.mu.Unlock()
	var errs []error
	for _, e := range entries {
		<-e.ready
		if e.err == nil {
			if err := e.log.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
