package storage

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-stream/chronik/walcodec"
)

const (
	// maxRunBytes bounds the batch bytes of one walcodec record; a group
	// holding more is written as several records (still one write, one fsync).
	maxRunBytes = 32 << 20
	// keepBufBytes is the largest encode buffer the writer keeps between groups.
	keepBufBytes = 16 << 20
	// walChecksumPos is where a walcodec record header holds its checksum
	// (after magic u32, version u8, length u32).
	walChecksumPos = 9
)

// writerState is owned by the writer goroutine.
type writerState struct {
	buf     []byte
	canon   []walcodec.CanonicalRecord
	pending []entry
	hook    func() // tests only: runs at the start of each group
}

// run is the writer goroutine: it drains the queue and group-commits each
// drained group until the log is closed and the queue is empty.
func (l *Log) run() {
	defer close(l.writerDone)
	var group []*appendReq
	for {
		l.qmu.Lock()
		group, l.queue = l.queue, group[:0]
		l.queued = 0
		if l.space != nil {
			close(l.space)
			l.space = nil
		}
		closed := l.closed
		l.qmu.Unlock()
		if len(group) == 0 {
			if closed {
				return
			}
			<-l.kick
			continue
		}
		l.commit(group)
		clear(group)
	}
}

// commit writes a group and answers its requests.
func (l *Log) commit(group []*appendReq) {
	err := l.writeGroup(group)
	if err != nil {
		l.qmu.Lock()
		if l.failed == nil {
			l.failed = err
			l.logger.Error("partition log failed; reopen to recover", "topic", l.topic, "partition", l.partition, "err", err)
		}
		l.qmu.Unlock()
	}
	for _, r := range group {
		if r.noWait {
			l.putReq(r)
			continue
		}
		r.done <- err
	}
}

// writeGroup encodes the group's batches into walcodec records, rolls the
// active segment if needed, writes them with one write, fsyncs once and then
// publishes the new batches (index, high watermark, Changed).
func (l *Log) writeGroup(group []*appendReq) error {
	l.qmu.Lock()
	failed := l.failed
	l.qmu.Unlock()
	if failed != nil {
		return failed
	}
	if l.w.hook != nil {
		l.w.hook()
	}
	l.mu.RLock()
	cfg := l.cfg
	l.mu.RUnlock()

	now := time.Now().UnixMilli()
	rollRequested := false
	for _, r := range group {
		if r.kind == reqRoll {
			rollRequested = true
		}
	}

	buf, pending := l.w.buf[:0], l.w.pending[:0]
	records := 0
	var firstVersion, lastVersion uint8
	next := int64(-1)
	for i := 0; i < len(group); {
		r := group[i]
		if len(r.batches) == 0 {
			i++
			continue
		}
		ts := r.ts
		if ts == 0 {
			ts = now
		}
		// A run: the following requests with the same WAL timestamp and Raft
		// metadata (requests without batches do not break it).
		canon := l.w.canon[:0]
		runBytes, j := 0, i
		for ; j < len(group); j++ {
			q := group[j]
			if len(q.batches) == 0 {
				continue
			}
			qts := q.ts
			if qts == 0 {
				qts = now
			}
			if qts != ts || q.hasRaft != r.hasRaft || (r.hasRaft && q.raft != r.raft) ||
				(runBytes > 0 && runBytes+len(q.records) > maxRunBytes) {
				break
			}
			runBytes += len(q.records)
			for k := range q.batches {
				b := &q.batches[k]
				canon = append(canon, walcodec.CanonicalRecord{
					BaseOffset:      b.base,
					LastOffsetDelta: b.lastDelta,
					MaxTimestamp:    b.maxTs,
					ProducerID:      b.pid,
					ProducerEpoch:   b.epoch,
					BaseSequence:    b.seq,
					Batch:           q.records[b.off : b.off+b.size],
				})
			}
		}
		rec := walcodec.Record{Version: cfg.Format, Type: cfg.RecordType, Timestamp: ts, Canonical: canon}
		if r.hasRaft {
			rec.Version, rec.Raft = walcodec.V3, &r.raft
		}
		start := len(buf)
		var err error
		buf, err = walcodec.AppendRecord(buf, &rec)
		if err != nil {
			return fmt.Errorf("storage: encode record for %s: %w: %w", l.name, err, kerr.KafkaStorageError)
		}
		// Rewrite each stored batch's base offset (outside the Kafka CRC),
		// then the walcodec checksum that covers it.
		for k := range canon {
			c := &canon[k]
			p := start + c.BatchPos
			binary.BigEndian.PutUint64(buf[p:], uint64(c.BaseOffset))
			pending = append(pending, entry{
				base:      c.BaseOffset,
				pos:       int64(p),
				tsMax:     c.MaxTimestamp,
				lastDelta: c.LastOffsetDelta,
				size:      int32(len(c.Batch)),
			})
		}
		binary.BigEndian.PutUint32(buf[start+walChecksumPos:], walcodec.Checksum(buf[start+walcodec.HeaderSize:]))
		next = canon[len(canon)-1].LastOffset() + 1
		if records == 0 {
			firstVersion = rec.Version
		}
		lastVersion = rec.Version
		records++
		clear(canon) // drop references to callers' buffers
		l.w.canon = canon[:0]
		i = j
	}
	defer func() {
		if cap(buf) <= keepBufBytes {
			l.w.buf = buf[:0]
		} else {
			l.w.buf = nil
		}
		l.w.pending = pending[:0]
	}()

	if a := l.active; a.size > 0 && (rollRequested ||
		now-a.created >= cfg.SegmentMs ||
		(records > 0 && (a.size+int64(len(buf)) > cfg.SegmentBytes || a.version != firstVersion))) {
		if err := l.roll(); err != nil {
			return err
		}
	}
	if records == 0 {
		return nil // only sync/roll requests or duplicates: everything before is already durable
	}

	a := l.active
	if _, err := a.f.WriteAt(buf, a.size); err != nil {
		return fmt.Errorf("storage: write %d bytes to %s at offset %d: %w: %w", len(buf), a.path, a.size, err, kerr.KafkaStorageError)
	}
	t0 := time.Now()
	err := a.f.Sync()
	l.metrics.fsyncSeconds.Observe(time.Since(t0).Seconds())
	if err != nil {
		return fmt.Errorf("storage: fsync %s: %w: %w", a.path, err, kerr.KafkaStorageError)
	}
	l.metrics.bytesWritten.Add(float64(len(buf)))
	l.metrics.recordsWritten.Add(float64(records))

	l.mu.Lock()
	tsMax := a.maxTimestamp()
	for _, e := range pending {
		e.pos += a.size
		tsMax = max(tsMax, e.tsMax)
		e.tsMax = tsMax
		a.entries = append(a.entries, e)
	}
	if a.size == 0 {
		a.created = now
	}
	a.size += int64(len(buf))
	a.version = lastVersion
	l.hwm.Store(next)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
	return nil
}

// roll starts a new active segment. The old one is fully durable (every
// group is fsynced) and stays open for reads.
func (l *Log) roll() error {
	seq := l.active.seq + 1
	path := filepath.Join(l.dir, walcodec.SegmentName(l.partition, seq))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("storage: roll %s: %w: %w", l.name, err, kerr.KafkaStorageError)
	}
	if err := SyncDir(l.dir); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return fmt.Errorf("storage: roll %s: %w: %w", l.name, err, kerr.KafkaStorageError)
	}
	seg := &segment{seq: seq, path: path, f: f}
	l.mu.Lock()
	l.segs = append(l.segs, seg)
	l.mu.Unlock()
	l.active = seg
	l.logger.Debug("rolled segment", "topic", l.topic, "partition", l.partition, "path", path)
	return nil
}
