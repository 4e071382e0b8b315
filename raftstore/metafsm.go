package raftstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-stream/chronik/broker/meta"
	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/chronik-stream/chronik/walcodec"
)

// mirrorCompactEvery is how many commands the metadata FSM appends to the __meta log between
// compactions of that log (a snapshot command, then the records before it are dropped).
const mirrorCompactEvery = 10000

// metaFSM is the raft.FSM of the metadata group ("ChronikMetaLog"): it applies meta commands to
// the meta.Store and cluster commands to the ClusterState, and mirrors every meta command into
// the __meta partition log with its raft_meta (term, index, leader), so that the metadata log
// on disk stays a readable (wal-dump) and replayable (meta.Open) record of the metadata.
type metaFSM struct {
	store  *meta.Store
	mirror *storage.Log // nil: no mirror
	logger *slog.Logger
	hooks  metaHooks

	mu      sync.RWMutex
	cluster ClusterState
	changed chan struct{} // closed at the next cluster state change (or applied index advance)

	applied   atomic.Uint64
	term      atomic.Uint64 // term of the last entry applied
	appliedMu sync.Mutex
	appliedCh chan struct{} // closed when applied advances

	sinceCompact int
	// live is set once raft has started: a Restore after that is an installed snapshot.
	live atomic.Bool
}

// metaHooks lets the node act on metadata changes from the FSM goroutine.
type metaHooks struct {
	// lockTopics is held while a command that deletes topics is applied and their logs removed.
	lockTopics func() (unlock func())
	// topicDeleted removes a deleted topic's partition logs (called with lockTopics held).
	topicDeleted func(name string)
	// topicsChanged runs after commands that may change topic configs or partitions (and after
	// a snapshot restore): kind is the meta command kind ("snapshot" for restores).
	topicsChanged func(kind string)
	// leader reports the current leader id (for log lines).
	leader func() uint64
}

func newMetaFSM(store *meta.Store, mirror *storage.Log, logger *slog.Logger, hooks metaHooks) *metaFSM {
	return &metaFSM{
		store:     store,
		mirror:    mirror,
		logger:    logger,
		hooks:     hooks,
		cluster:   newClusterState(),
		changed:   make(chan struct{}),
		appliedCh: make(chan struct{}),
	}
}

// applyResult is what Apply returns for an entry: nil or an error (a refused cluster command or
// an undecodable entry).
func (f *metaFSM) Apply(l *raft.Log) any {
	f.term.Store(l.Term)
	if l.Type != raft.LogCommand {
		f.setApplied(l.Index)
		return nil
	}
	defer f.setApplied(l.Index)
	kind, leader, payload, err := decodeEntry(l.Data)
	if err != nil {
		f.logger.Error("metadata entry skipped", "index", l.Index, "err", err)
		return fmt.Errorf("%w at index %d: %w", errEntry, l.Index, err)
	}
	switch kind {
	case entryMeta:
		return f.applyMeta(l, leader, payload)
	default:
		var c clusterCmd
		if err := json.Unmarshal(payload, &c); err != nil {
			f.logger.Error("cluster command skipped", "index", l.Index, "err", err)
			return fmt.Errorf("%w at index %d: %w", errEntry, l.Index, err)
		}
		f.mu.Lock()
		err := f.cluster.apply(c)
		f.mu.Unlock()
		if err == nil {
			f.notify()
		}
		return err
	}
}

// StoreConfiguration is called by raft for configuration entries (raft.ConfigurationStore): it
// only advances the applied index, so that waiting for a membership change's index works.
func (f *metaFSM) StoreConfiguration(index uint64, _ raft.Configuration) { f.setApplied(index) }

// commandKind reads the kind (record key) and JSON value of a meta command batch ("" when it
// does not decode; Apply then reports the error).
func commandKind(cmd []byte) (string, []byte) {
	var b kmsg.RecordBatch
	if err := b.ReadFrom(cmd); err != nil {
		return "", nil
	}
	var r kmsg.Record
	if err := r.ReadFrom(b.Records); err != nil {
		return "", nil
	}
	return string(r.Key), r.Value
}

func (f *metaFSM) applyMeta(l *raft.Log, leader uint64, cmd []byte) any {
	kind, _ := commandKind(cmd)
	var err error
	switch kind {
	case "delete_topic", "snapshot":
		// Deleting topics: their logs go while no data group appends to them.
		unlock := func() {}
		if f.hooks.lockTopics != nil {
			unlock = f.hooks.lockTopics()
		}
		before := f.store.Topics()
		err = f.store.Apply(cmd)
		if err == nil && f.hooks.topicDeleted != nil {
			for _, t := range before {
				if now, ok := f.store.Topic(t.Name); !ok || now.ID != t.ID {
					f.hooks.topicDeleted(t.Name)
				}
			}
		}
		unlock()
	default:
		err = f.store.Apply(cmd)
	}
	if err != nil {
		f.logger.Error("metadata command not applied", "index", l.Index, "kind", kind, "err", err)
		return fmt.Errorf("%w at index %d: %w", errEntry, l.Index, err)
	}
	f.mirrorAppend(cmd, l.Term, l.Index, leader, l.AppendedAt)
	switch kind {
	case "create_topic", "create_partitions", "set_topic_configs", "delete_topic", "snapshot":
		if f.hooks.topicsChanged != nil {
			f.hooks.topicsChanged(kind)
		}
		f.notify()
	}
	return nil
}

// mirrorAppend appends a command to the __meta log unless it already holds that Raft index
// (replay after a restart). The append does not wait for its fsync: raft-wal holds the entry.
func (f *metaFSM) mirrorAppend(cmd []byte, term, index, leader uint64, at time.Time) {
	if f.mirror == nil || index <= f.mirror.LastRaftIndex() {
		return
	}
	ts := int64(0)
	if !at.IsZero() {
		ts = at.UnixMilli()
	}
	opt := storage.AppendOptions{Raft: &walcodec.RaftMeta{Term: term, Index: index, LeaderID: leader}, NoWait: true, Timestamp: ts}
	if _, err := f.mirror.Append(context.Background(), cmd, opt); err != nil {
		f.logger.Warn("appending to the __meta log failed", "index", index, "err", err)
		return
	}
	f.sinceCompact++
	if f.sinceCompact >= mirrorCompactEvery {
		f.sinceCompact = 0
		if err := f.compactMirror(term, index, leader); err != nil {
			f.logger.Warn("compacting the __meta log failed", "err", err)
		}
	}
}

// compactMirror appends a full-state snapshot command and drops the records before it.
func (f *metaFSM) compactMirror(term, index, leader uint64) error {
	snap, err := f.store.Snapshot()
	if err != nil {
		return err
	}
	res, err := f.mirror.Append(context.Background(), snap, storage.AppendOptions{Raft: &walcodec.RaftMeta{Term: term, Index: index, LeaderID: leader}})
	if err != nil {
		return fmt.Errorf("appending a snapshot to the __meta log: %w", err)
	}
	if _, err := f.mirror.DeleteRecords(res.BaseOffset); err != nil {
		return fmt.Errorf("dropping __meta records before offset %d: %w", res.BaseOffset, err)
	}
	return f.mirror.EnforceRetention(time.Now())
}

func (f *metaFSM) setApplied(index uint64) {
	if index <= f.applied.Load() {
		return
	}
	f.applied.Store(index)
	f.appliedMu.Lock()
	close(f.appliedCh)
	f.appliedCh = make(chan struct{})
	f.appliedMu.Unlock()
}

// waitApplied returns once the FSM has applied index (or a snapshot past it), or ctx ends.
func (f *metaFSM) waitApplied(ctx context.Context, index uint64) error {
	for {
		f.appliedMu.Lock()
		ch := f.appliedCh
		f.appliedMu.Unlock()
		if f.applied.Load() >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the metadata log to apply index %d (applied %d): %w", index, f.applied.Load(), context.Cause(ctx))
		}
	}
}

func (f *metaFSM) notify() {
	f.mu.Lock()
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// state returns a copy of the cluster state and a channel closed at its next change.
func (f *metaFSM) state() (ClusterState, <-chan struct{}) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.cluster.clone(), f.changed
}

// view calls fn with the cluster state read-locked (no copy).
func (f *metaFSM) view(fn func(s *ClusterState)) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fn(&f.cluster)
}

// metaSnapshot is the metadata FSM's snapshot: the cluster state and the meta.Store state.
type metaSnapshot struct {
	Version int          `json:"version"`
	Index   uint64       `json:"index"` // last command index applied
	Term    uint64       `json:"term"`
	Cluster ClusterState `json:"cluster"`
	Meta    []byte       `json:"meta"` // meta.Store.Snapshot(): a "snapshot" command
}

func (f *metaFSM) Snapshot() (raft.FSMSnapshot, error) {
	m, err := f.store.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("metadata snapshot: %w", err)
	}
	cs, _ := f.state()
	return &metaSnapshotter{snap: metaSnapshot{Version: 1, Index: f.applied.Load(), Term: f.term.Load(), Cluster: cs, Meta: m}}, nil
}

// encodeMetaSnapshot is the byte form written to a snapshot sink.
func encodeMetaSnapshot(s metaSnapshot) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encoding metadata snapshot: %w", err)
	}
	return b, nil
}

type metaSnapshotter struct{ snap metaSnapshot }

func (s *metaSnapshotter) Persist(sink raft.SnapshotSink) error {
	b, err := encodeMetaSnapshot(s.snap)
	if err == nil {
		_, err = sink.Write(b)
	}
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persisting metadata snapshot: %w", err)
	}
	return sink.Close()
}

func (s *metaSnapshotter) Release() {}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (f *metaFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	cr := &countingReader{r: rc}
	var s metaSnapshot
	if err := json.NewDecoder(cr).Decode(&s); err != nil {
		return fmt.Errorf("decoding metadata snapshot: %w", err)
	}
	if s.Version != 1 {
		return fmt.Errorf("metadata snapshot version %d is not supported by this build", s.Version)
	}
	live := f.live.Load()
	if live {
		from := uint64(0)
		if f.hooks.leader != nil {
			from = f.hooks.leader()
		}
		f.logger.Info(fmt.Sprintf("Snapshot received from node %d (size: %s)", from, humanSize(cr.n)), "group", MetaGroup, "index", s.Index)
	}
	if len(s.Meta) > 0 {
		unlock := func() {}
		if f.hooks.lockTopics != nil {
			unlock = f.hooks.lockTopics()
		}
		before := f.store.Topics()
		err := f.store.Apply(s.Meta)
		if err == nil && f.hooks.topicDeleted != nil {
			for _, t := range before {
				if now, ok := f.store.Topic(t.Name); !ok || now.ID != t.ID {
					f.hooks.topicDeleted(t.Name)
				}
			}
		}
		unlock()
		if err != nil {
			return fmt.Errorf("restoring metadata snapshot: %w", err)
		}
		if f.mirror != nil && s.Index > f.mirror.LastRaftIndex() {
			leader := uint64(0)
			if f.hooks.leader != nil {
				leader = f.hooks.leader()
			}
			if _, err := f.mirror.Append(context.Background(), s.Meta, storage.AppendOptions{Raft: &walcodec.RaftMeta{Term: s.Term, Index: s.Index, LeaderID: leader}}); err != nil {
				f.logger.Warn("appending the restored snapshot to the __meta log failed", "err", err)
			}
		}
	}
	if s.Cluster.Nodes == nil {
		s.Cluster.Nodes = map[uint64]NodeInfo{}
	}
	f.mu.Lock()
	f.cluster = s.Cluster
	f.mu.Unlock()
	f.setApplied(s.Index)
	f.term.Store(s.Term)
	if f.hooks.topicsChanged != nil {
		f.hooks.topicsChanged("snapshot")
	}
	f.notify()
	if live {
		f.logger.Info("Snapshot installed successfully", "group", MetaGroup, "index", s.Index)
	}
	return nil
}

// bootstrapped prepares the FSM state the initial snapshot of a new cluster holds (index 1,
// term 1) and records it in the __meta log, so that the metadata log of every cluster starts
// with a record carrying raft_metadata.
func (f *metaFSM) bootstrapped(self uint64) error {
	f.setApplied(1)
	f.term.Store(1)
	if f.mirror == nil || f.mirror.LastRaftIndex() >= 1 {
		return nil
	}
	snap, err := f.store.Snapshot()
	if err != nil {
		return err
	}
	if _, err := f.mirror.Append(context.Background(), snap, storage.AppendOptions{Raft: &walcodec.RaftMeta{Term: 1, Index: 1, LeaderID: self}}); err != nil {
		return fmt.Errorf("recording the initial metadata in the __meta log: %w", err)
	}
	return nil
}

// humanSize renders a byte count the way the migration guide prints snapshot sizes ("123MB").
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	units := []string{"KB", "MB", "GB", "TB", "PB"}
	v := float64(n) / unit
	i := 0
	for v >= unit && i < len(units)-1 {
		v /= unit
		i++
	}
	if v >= 100 {
		return fmt.Sprintf("%.0f%s", v, units[i])
	}
	return fmt.Sprintf("%.1f%s", v, units[i])
}

var (
	_ raft.FSM                = (*metaFSM)(nil)
	_ raft.ConfigurationStore = (*metaFSM)(nil)
)

// errNoLeader is returned while no metadata leader is known.
var errNoLeader = errors.New("no metadata leader is known")
