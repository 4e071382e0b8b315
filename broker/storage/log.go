package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned (wrapped) by operations on a closed log.
var ErrClosed = errors.New("storage: log closed")

// defaultQueueLimit bounds the bytes queued for the writer of one log.
const defaultQueueLimit = 64 << 20

// Log is one partition log. It is safe for concurrent use.
//
// Locking: qmu guards the append side (queue, offset assignment, producer
// state); mu guards the index side (segments, entries, config, Changed). The
// two are never held together. The writer goroutine alone writes to the
// active segment and changes l.active.
type Log struct {
	dir       string
	topic     string
	partition int32
	name      string // "topic <t> partition <p>" for messages
	logger    *slog.Logger
	metrics   *Metrics

	// Append side, guarded by qmu.
	qmu        sync.Mutex
	queue      []*appendReq
	queued     int           // record bytes in queue
	queueLimit int           // Append waits while queued+new would exceed it
	space      chan struct{} // closed when the writer drains the queue; nil if nobody waits
	nextOffset int64         // offset the next accepted batch starts at
	producers  producers
	closed     bool  // no more appends
	failed     error // sticky write/fsync failure
	kick       chan struct{}

	lastRaft atomic.Uint64
	hwm      atomic.Int64 // stored under mu
	logStart atomic.Int64 // stored under mu

	// Index side, guarded by mu.
	mu        sync.RWMutex
	cfg       LogConfig
	minFormat uint8      // lowest write format, kept across SetConfig (format.go); 0 = none
	segs      []*segment // in seq order; the last one is the active segment
	changed   chan struct{}
	shut      bool // files closed

	adminMu sync.Mutex // serialises retention, DeleteRecords and checkpoint writes

	readHook func() // tests only: runs in Read and Scan between the lookup and the pread

	active     *segment // written only by the writer goroutine (and OpenLog before it starts)
	w          writerState
	reqs       sync.Pool
	writerDone chan struct{}
}

// LogStats summarises a log's files.
type LogStats struct {
	Segments int
	Bytes    int64
}

// OpenLog opens (creating if needed) the log of topic/partition in dir and
// recovers it: see the package documentation. m and logger may be nil.
func OpenLog(dir string, topic string, partition int32, cfg LogConfig, logger *slog.Logger, m *Metrics) (*Log, error) {
	name := fmt.Sprintf("topic %s partition %d", topic, partition)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", name, err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", name, err)
	}
	l := &Log{
		dir:        dir,
		topic:      topic,
		partition:  partition,
		name:       name,
		logger:     logger,
		metrics:    m,
		queueLimit: defaultQueueLimit,
		producers:  producers{},
		kick:       make(chan struct{}, 1),
		cfg:        cfg.withDefaults(),
		changed:    make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	if err := l.recover(); err != nil {
		for _, s := range l.segs {
			if s.f != nil {
				_ = s.f.Close()
			}
		}
		return nil, err
	}
	go l.run()
	return l, nil
}

// Dir is the log's directory.
func (l *Log) Dir() string { return l.dir }

// Topic is the log's topic.
func (l *Log) Topic() string { return l.topic }

// Partition is the log's partition.
func (l *Log) Partition() int32 { return l.partition }

// HighWatermark is the offset after the last durable (fsynced) batch.
func (l *Log) HighWatermark() int64 { return l.hwm.Load() }

// LogStartOffset is the first offset that can be read.
func (l *Log) LogStartOffset() int64 { return l.logStart.Load() }

// LastRaftIndex is the highest raft_meta.index stored or queued (0 if none).
func (l *Log) LastRaftIndex() uint64 { return l.lastRaft.Load() }

// Changed returns a channel closed at the next high watermark advance (or
// Close). Take it before checking the log, then wait; call again afterwards.
func (l *Log) Changed() <-chan struct{} {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.changed
}

// Config is the log's current configuration.
func (l *Log) Config() LogConfig {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.cfg
}

// SetConfig replaces the configuration; it applies from the next write and
// retention pass. An invalid configuration is logged and ignored. The format
// never drops below one set by UpgradeFormat or a WAL format pin.
func (l *Log) SetConfig(cfg LogConfig) {
	if err := cfg.Validate(); err != nil {
		l.logger.Warn("ignoring invalid log config", "topic", l.topic, "partition", l.partition, "err", err)
		return
	}
	l.mu.Lock()
	l.cfg = cfg.withDefaults()
	l.cfg.Format = max(l.cfg.Format, l.minFormat)
	l.mu.Unlock()
}

// Stats counts the log's segments and their durable bytes.
func (l *Log) Stats() LogStats {
	l.mu.RLock()
	defer l.mu.RUnlock()
	st := LogStats{Segments: len(l.segs)}
	for _, s := range l.segs {
		st.Bytes += s.size
	}
	return st
}

// Sync returns once everything appended before the call is durable.
func (l *Log) Sync() error { return l.control(reqSync) }

// Close stops accepting appends, writes and fsyncs everything queued, stops
// the writer goroutine and closes the files. Later calls return nil.
func (l *Log) Close() error {
	l.qmu.Lock()
	already := l.closed
	l.closed = true
	l.qmu.Unlock()
	l.wake()
	<-l.writerDone
	if already {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.shut {
		return nil
	}
	l.shut = true
	var errs []error
	if err := l.active.f.Sync(); err != nil {
		errs = append(errs, fmt.Errorf("storage: close %s: fsync %s: %w", l.name, l.active.path, err))
	}
	for _, s := range l.segs {
		if err := s.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("storage: close %s: %s: %w", l.name, s.path, err))
		}
	}
	close(l.changed)
	return errors.Join(errs...)
}

// wake nudges the writer goroutine.
func (l *Log) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}
