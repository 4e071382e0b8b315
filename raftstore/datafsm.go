package raftstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/chronik-stream/chronik/walcodec"
)

// Entries of a data group: one Produce partition payload each.
//
//	version u8 (1) | leader u64 | timestamp i64 (WAL record time, ms) | meta index u64 |
//	topic id [16] | topic length u16 | topic | partition i32 | record batches
//
// meta index is the metadata state the leader had applied when it proposed the entry: a
// replica applies the entry only once its own metadata has reached it, so that every replica
// decides "does this topic exist" on the same facts.
const dataEntryVersion = 1

const dataEntryFixed = 1 + 8 + 8 + 8 + 16 + 2 + 4

type dataEntry struct {
	leader    uint64
	ts        int64
	metaIndex uint64
	topicID   [16]byte
	topic     string
	partition int32
	records   []byte
}

func encodeDataEntry(e dataEntry) []byte {
	b := make([]byte, 0, dataEntryFixed+len(e.topic)+len(e.records))
	b = append(b, dataEntryVersion)
	b = binary.BigEndian.AppendUint64(b, e.leader)
	b = binary.BigEndian.AppendUint64(b, uint64(e.ts))
	b = binary.BigEndian.AppendUint64(b, e.metaIndex)
	b = append(b, e.topicID[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.topic)))
	b = append(b, e.topic...)
	b = binary.BigEndian.AppendUint32(b, uint32(e.partition))
	return append(b, e.records...)
}

func decodeDataEntry(b []byte) (dataEntry, error) {
	if len(b) < dataEntryFixed {
		return dataEntry{}, fmt.Errorf("data entry of %d bytes is shorter than its header", len(b))
	}
	if b[0] != dataEntryVersion {
		return dataEntry{}, fmt.Errorf("data entry version %d is not supported by this build", b[0])
	}
	var e dataEntry
	e.leader = binary.BigEndian.Uint64(b[1:])
	e.ts = int64(binary.BigEndian.Uint64(b[9:]))
	e.metaIndex = binary.BigEndian.Uint64(b[17:])
	copy(e.topicID[:], b[25:41])
	tl := int(binary.BigEndian.Uint16(b[41:]))
	if len(b) < dataEntryFixed+tl {
		return dataEntry{}, fmt.Errorf("data entry topic of %d bytes overruns the entry", tl)
	}
	e.topic = string(b[43 : 43+tl])
	e.partition = int32(binary.BigEndian.Uint32(b[43+tl:]))
	e.records = b[47+tl:]
	return e, nil
}

// dataResult is what the data FSM returns for an entry (the leader's Apply future response).
type dataResult struct {
	res      storage.AppendResult
	err      error
	log      *storage.Log
	replayed bool // the partition already held the entry (replay after a restart)
}

// dataFSM is the raft.FSM of one data group: it appends each committed produce payload to its
// partition's log with raft_meta {term, index, leader}. The partition logs are the state:
// entries at or below a log's last Raft index are skipped (replay after a restart), offsets are
// assigned in log order and idempotent producers deduplicated by the log, the same on every
// replica. Appends do not wait for the partition fsync (raft-wal holds the entry); a snapshot
// syncs them first.
type dataFSM struct {
	n       *Node
	group   int
	name    string
	logger  *slog.Logger
	staging string // hard links of a snapshot being taken
	live    atomic.Bool
}

func newDataFSM(n *Node, group int, dir string) *dataFSM {
	name := DataGroupName(group)
	return &dataFSM{n: n, group: group, name: name, logger: n.logger.With("group", name), staging: filepath.Join(dir, "staging")}
}

func (f *dataFSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	e, err := decodeDataEntry(l.Data)
	if err != nil {
		f.logger.Error("data entry skipped", "index", l.Index, "err", err)
		return dataResult{err: fmt.Errorf("%w: %w", kerr.CorruptMessage, err)}
	}
	if err := f.n.fsm.waitApplied(f.n.ctx, e.metaIndex); err != nil {
		// Only on shutdown: raft re-applies the entry after the restart.
		return dataResult{err: fmt.Errorf("%w: %w", kerr.NotLeaderForPartition, err)}
	}
	f.n.topicsMu.RLock()
	defer f.n.topicsMu.RUnlock()
	t, ok := f.n.store.Topic(e.topic)
	if !ok || t.ID != e.topicID || e.partition < 0 || e.partition >= t.Partitions {
		// Deleted (or re-created) since the leader proposed it: every replica skips it.
		return dataResult{err: fmt.Errorf("topic %s partition %d: %w", e.topic, e.partition, kerr.UnknownTopicOrPartition)}
	}
	log, err := f.n.cfg.Logs.Open(t.Name, e.partition, f.n.logConfig(t.Configs))
	if err != nil {
		f.logger.Error("opening a partition log for a data entry failed: this replica diverges", "topic", e.topic, "partition", e.partition, "index", l.Index, "err", err)
		return dataResult{err: fmt.Errorf("%w: %w", kerr.KafkaStorageError, err)}
	}
	if l.Index <= log.LastRaftIndex() {
		return dataResult{log: log, replayed: true}
	}
	res, err := log.Append(context.Background(), e.records, storage.AppendOptions{
		Raft:      &walcodec.RaftMeta{Term: l.Term, Index: l.Index, LeaderID: e.leader},
		NoWait:    true,
		Timestamp: e.ts,
	})
	return dataResult{res: res, err: err, log: log}
}

// groupPartition is one partition of this group as the metadata knows it.
type groupPartition struct {
	topic     string
	topicID   [16]byte
	partition int32
	configs   map[string]string
}

// partitions lists the partitions mapped onto this group.
func (f *dataFSM) partitions() []groupPartition {
	var groups int
	f.n.fsm.view(func(s *ClusterState) { groups = len(s.Groups) })
	var out []groupPartition
	for _, t := range f.n.store.Topics() {
		for p := int32(0); p < t.Partitions; p++ {
			if GroupOf(groups, t.Name, p) == f.group {
				out = append(out, groupPartition{topic: t.Name, topicID: t.ID, partition: p, configs: t.Configs})
			}
		}
	}
	return out
}

// Snapshot syncs the group's partition logs and hard-links their segments into a staging
// directory; Persist hands the link manifest to the data snapshot store.
func (f *dataFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.n.topicsMu.RLock()
	defer f.n.topicsMu.RUnlock()
	parts := f.partitions()
	type opened struct {
		gp  groupPartition
		log *storage.Log
	}
	logs := make(map[string]opened, len(parts))
	for _, gp := range parts {
		l, err := f.n.cfg.Logs.Open(gp.topic, gp.partition, f.n.logConfig(gp.configs))
		if err != nil {
			return nil, fmt.Errorf("snapshot of %s: open topic %s partition %d: %w", f.name, gp.topic, gp.partition, err)
		}
		if err := l.Sync(); err != nil {
			return nil, fmt.Errorf("snapshot of %s: sync topic %s partition %d: %w", f.name, gp.topic, gp.partition, err)
		}
		logs[l.Dir()] = opened{gp, l}
	}
	cut, err := f.n.cfg.Logs.CaptureCut()
	if err != nil {
		return nil, fmt.Errorf("snapshot of %s: %w", f.name, err)
	}
	defer cut.Close()
	if err := os.MkdirAll(f.staging, 0o755); err != nil {
		return nil, fmt.Errorf("snapshot of %s: %w", f.name, err)
	}
	stage, err := os.MkdirTemp(f.staging, "snap-")
	if err != nil {
		return nil, fmt.Errorf("snapshot of %s: %w", f.name, err)
	}
	m := dataManifest{Group: f.group, Origin: f.n.id, MetaIndex: f.n.fsm.applied.Load()}
	for _, cl := range cut.Logs {
		o, ok := logs[cl.Dir]
		if !ok {
			continue
		}
		pm := partManifest{
			Topic: o.gp.topic, TopicID: formatID(o.gp.topicID), Partition: o.gp.partition,
			LastRaftIndex: o.log.LastRaftIndex(), HighWatermark: cl.HighWatermark,
			LogStartOffset: cl.LogStartOffset, HasCheckpoint: cl.HasCheckpoint,
		}
		for _, seg := range cl.Segments {
			name := filepath.Base(seg.Path)
			dst := filepath.Join(stage, fmt.Sprintf("%d-%s", len(m.Partitions), name))
			if err := linkOrCopy(seg, dst); err != nil {
				_ = os.RemoveAll(stage)
				return nil, fmt.Errorf("snapshot of %s: %w", f.name, err)
			}
			pm.Files = append(pm.Files, snapFile{Name: name, Size: seg.Size, Path: dst})
		}
		m.Partitions = append(m.Partitions, pm)
	}
	slices.SortFunc(m.Partitions, func(a, b partManifest) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return int(a.Partition - b.Partition)
	})
	return &dataSnapshot{m: m, stage: stage}, nil
}

// linkOrCopy hard-links a captured segment to dst, copying its captured bytes when the file
// is gone (retention removed it after the capture).
func linkOrCopy(seg storage.CutSegment, dst string) error {
	if err := os.Link(seg.Path, dst); err == nil {
		return nil
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, io.NewSectionReader(seg.Reader(), 0, seg.Size))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copying segment %s: %w", seg.Path, err)
	}
	return nil
}

func formatID(id [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:16])
}

type dataSnapshot struct {
	m     dataManifest
	stage string
}

func (s *dataSnapshot) Persist(sink raft.SnapshotSink) error {
	b, err := encodeManifest(linkMagic, s.m)
	if err == nil {
		_, err = sink.Write(b)
	}
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persisting data snapshot: %w", err)
	}
	return sink.Close()
}

func (s *dataSnapshot) Release() { _ = os.RemoveAll(s.stage) }

// Restore brings the group's partition logs up to a snapshot (the stream of datasnap.go). At
// startup a snapshot this node took itself needs nothing: its logs were synced before it was
// taken and only grew since. A received snapshot is applied partition by partition: a log that
// already holds everything the snapshot covers is left alone, a partition without a local log
// gets the snapshot's segment files, and a log holding a prefix gets the missing batches
// appended (with their raft_meta).
func (f *dataFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	m, hdrLen, err := readManifest(rc, streamMagic)
	if err != nil {
		return fmt.Errorf("restore of %s: %w", f.name, err)
	}
	live := f.live.Load()
	if !live && m.Origin == f.n.id {
		return nil
	}
	if live {
		from := uint64(0)
		if g := f.n.data.raftGroup(f.name); g != nil {
			from, _ = g.leader()
		}
		f.logger.Info(fmt.Sprintf("Snapshot received from node %d (size: %s)", from, humanSize(hdrLen+m.dataBytes())), "partitions", len(m.Partitions))
	}
	if err := f.n.fsm.waitApplied(f.n.ctx, m.MetaIndex); err != nil {
		return fmt.Errorf("restore of %s: %w", f.name, err)
	}
	f.n.topicsMu.RLock()
	defer f.n.topicsMu.RUnlock()
	for _, pm := range m.Partitions {
		if err := f.restorePartition(pm, rc); err != nil {
			return fmt.Errorf("restore of %s: topic %s partition %d: %w", f.name, pm.Topic, pm.Partition, err)
		}
	}
	if live {
		f.logger.Info("Snapshot installed successfully", "partitions", len(m.Partitions))
	}
	return nil
}

// restorePartition consumes exactly the partition's file bytes from r.
func (f *dataFSM) restorePartition(pm partManifest, r io.Reader) error {
	var total int64
	for _, fl := range pm.Files {
		total += fl.Size
	}
	skip := func() error {
		_, err := io.CopyN(io.Discard, r, total)
		return err
	}
	t, ok := f.n.store.Topic(pm.Topic)
	if !ok || formatID(t.ID) != pm.TopicID {
		return skip() // deleted since: nothing to keep
	}
	logs := f.n.cfg.Logs
	l, open := logs.Get(pm.Topic, pm.Partition)
	if !open {
		dir := logs.Dir(pm.Topic, pm.Partition)
		has, err := hasSegments(dir)
		if err != nil {
			return err
		}
		if !has {
			if err := installFiles(dir, pm, r); err != nil {
				return err
			}
			l, err = logs.Open(pm.Topic, pm.Partition, f.n.logConfig(t.Configs))
			if err != nil {
				return err
			}
			if hwm := l.HighWatermark(); hwm != pm.HighWatermark || l.LastRaftIndex() != pm.LastRaftIndex {
				return fmt.Errorf("installed log has high watermark %d and raft index %d, the snapshot %d and %d", hwm, l.LastRaftIndex(), pm.HighWatermark, pm.LastRaftIndex)
			}
			return nil
		}
		if l, err = logs.Open(pm.Topic, pm.Partition, f.n.logConfig(t.Configs)); err != nil {
			return err
		}
	}
	hwm := l.HighWatermark()
	switch {
	case l.LastRaftIndex() >= pm.LastRaftIndex && hwm >= pm.HighWatermark:
		return skip()
	case hwm >= pm.LogStartOffset && hwm <= pm.HighWatermark:
		return appendFrom(l, pm, r, hwm, f.staging)
	default:
		_ = skip()
		return fmt.Errorf("the local log (high watermark %d, raft index %d) cannot be brought to the snapshot's (log start %d, high watermark %d, raft index %d): stop the node, remove %s and restart it",
			hwm, l.LastRaftIndex(), pm.LogStartOffset, pm.HighWatermark, pm.LastRaftIndex, l.Dir())
	}
}

func hasSegments(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if _, _, ok := walcodec.ParseSegmentName(e.Name()); ok {
			return true, nil
		}
	}
	return false, nil
}

// installFiles writes a partition's snapshot files, read from r, into its (segment-less)
// directory.
func installFiles(dir string, pm partManifest, r io.Reader) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, fl := range pm.Files {
		path := filepath.Join(dir, fl.Name)
		out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		_, err = io.CopyN(out, r, fl.Size)
		if err == nil {
			err = out.Sync()
		}
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if pm.HasCheckpoint {
		if err := writeFileSync(filepath.Join(dir, "log-start-offset"), []byte(strconv.FormatInt(pm.LogStartOffset, 10)+"\n")); err != nil {
			return err
		}
	}
	return storage.SyncDir(dir)
}

// appendFrom appends the snapshot's batches at and after offset `from` to l, one Append per
// WAL record (keeping its raft_meta and timestamp), then syncs. Each file is spooled to the
// staging directory to be read as a segment.
func appendFrom(l *storage.Log, pm partManifest, r io.Reader, from int64, staging string) error {
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return err
	}
	for _, fl := range pm.Files {
		if err := appendFromFile(l, fl, r, from, staging); err != nil {
			return err
		}
	}
	if err := l.Sync(); err != nil {
		return err
	}
	if hwm := l.HighWatermark(); hwm != pm.HighWatermark {
		return fmt.Errorf("after appending the snapshot's batches the high watermark is %d, the snapshot's %d", hwm, pm.HighWatermark)
	}
	return nil
}

func appendFromFile(l *storage.Log, fl snapFile, r io.Reader, from int64, staging string) error {
	tmp, err := os.CreateTemp(staging, "restore-*")
	if err != nil {
		return err
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()
	if _, err := io.CopyN(tmp, r, fl.Size); err != nil {
		return fmt.Errorf("spooling snapshot segment %s: %w", fl.Name, err)
	}
	sr := walcodec.NewSegmentReader(fl.Name, tmp, fl.Size, walcodec.ReadAny)
	for {
		rec, _, err := sr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading snapshot segment %s: %w", fl.Name, err)
		}
		var batches []byte
		for _, c := range rec.Canonical {
			if c.BaseOffset >= from {
				batches = append(batches, c.Batch...)
			}
		}
		if len(batches) == 0 {
			continue
		}
		opt := storage.AppendOptions{NoWait: true, Timestamp: rec.Timestamp}
		if rec.Raft != nil {
			rm := *rec.Raft
			opt.Raft = &rm
		}
		if _, err := l.Append(context.Background(), batches, opt); err != nil {
			return fmt.Errorf("appending snapshot batches: %w", err)
		}
	}
}

var _ raft.FSM = (*dataFSM)(nil)
