package storage

import (
	"bytes"
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-stream/chronik/walcodec"
)

// maxAppendBytes bounds one Append's payload (it must fit the queue and one
// walcodec record).
const maxAppendBytes = defaultQueueLimit

// AppendOptions qualify one Append.
type AppendOptions struct {
	Raft      *walcodec.RaftMeta // V3 raft_meta for records written by a Raft FSM; nil in standalone
	NoWait    bool               // acks=0: return once queued (result offsets are still filled)
	Timestamp int64              // WAL record timestamp (unix ms); 0 = now
	// Queued, if set, is called exactly once when the append's place in the log is fixed
	// (offsets assigned and queued) or it failed before that — before Append waits for the
	// fsync. A caller ordering appends (one connection's pipelined produces) can let the next
	// append proceed from here, so that several of them share one group commit.
	Queued func()
}

// AppendResult is where an Append landed.
type AppendResult struct {
	BaseOffset     int64 // offset assigned to the first record of the first batch
	LastOffset     int64
	LogStartOffset int64
	Duplicate      bool // idempotent retry: offsets are those of the original append
}

type reqKind uint8

const (
	reqAppend reqKind = iota // batches to write (none for a duplicate waiting for durability)
	reqSync                  // answer once everything before it is durable
	reqRoll                  // roll the active segment if it holds data
)

// appendReq is one queued request. Requests are pooled per log.
type appendReq struct {
	kind    reqKind
	records []byte
	batches []pendingBatch
	raft    walcodec.RaftMeta
	hasRaft bool
	ts      int64 // explicit WAL timestamp, 0 = the writer's clock
	noWait  bool
	done    chan error // capacity 1; one send per request
}

// pendingBatch is one validated batch of a request.
type pendingBatch struct {
	off, size int // within appendReq.records
	base      int64
	maxTs     int64
	pid       int64
	lastDelta int32
	seq       int32
	epoch     int16
	control   bool
}

func (b *pendingBatch) idempotent() bool { return b.pid >= 0 && b.seq >= 0 && !b.control }

func (l *Log) getReq() *appendReq {
	if r, ok := l.reqs.Get().(*appendReq); ok {
		return r
	}
	return &appendReq{done: make(chan error, 1)}
}

func (l *Log) putReq(r *appendReq) {
	r.kind, r.records, r.hasRaft, r.ts, r.noWait = reqAppend, nil, false, 0, false
	r.batches = r.batches[:0]
	l.reqs.Put(r)
}

// Append validates and appends a Produce partition payload: one or more
// concatenated Kafka RecordBatches (magic 2). Each batch's length and CRC-32C
// are checked (kerr.CorruptMessage) as are its record counts
// (kerr.InvalidRecord); its base offset is rewritten (bytes 0..7 of the stored
// copy only; records itself is not modified, CRC untouched). Idempotent
// producers are checked per producer id: a duplicate of one of its last 5
// batches returns the original offsets with Duplicate set and writes nothing;
// a sequence gap gives kerr.OutOfOrderSequenceNumber, a stale epoch
// kerr.InvalidProducerEpoch. A payload is accepted or refused as a whole.
//
// Append returns after the group commit that made the batches durable, or,
// with NoWait, as soon as offsets are assigned. ctx bounds only the wait for
// queue space: once queued, an append completes (durable or failed) before
// Append returns. Records carrying Raft metadata are written as V3 records
// even when the log's format is V2. Errors wrap kerr codes (errors.As).
func (l *Log) Append(ctx context.Context, records []byte, opt AppendOptions) (AppendResult, error) {
	switch {
	case len(records) == 0:
		if opt.Queued != nil {
			opt.Queued()
		}
		return AppendResult{}, fmt.Errorf("storage: append to %s: no record batches: %w", l.name, kerr.InvalidRecord)
	case len(records) > maxAppendBytes:
		if opt.Queued != nil {
			opt.Queued()
		}
		return AppendResult{}, fmt.Errorf("storage: append to %s: %d bytes exceed the %d byte limit: %w", l.name, len(records), maxAppendBytes, kerr.MessageTooLarge)
	}
	if opt.NoWait {
		records = bytes.Clone(records) // the caller may reuse its buffer once we return
	}
	r := l.getReq()
	r.records = records
	r.noWait = opt.NoWait
	r.ts = opt.Timestamp
	if opt.Raft != nil {
		r.raft, r.hasRaft = *opt.Raft, true
	}
	for off := 0; off < len(records); {
		h, err := ParseBatchHeader(records[off:])
		if err == nil {
			err = checkBatchCounts(&h)
		}
		if err != nil {
			l.putReq(r)
			if opt.Queued != nil {
				opt.Queued()
			}
			return AppendResult{}, fmt.Errorf("storage: append to %s: batch at byte %d: %w", l.name, off, err)
		}
		r.batches = append(r.batches, pendingBatch{
			off:       off,
			size:      h.Size(),
			maxTs:     h.MaxTimestamp,
			pid:       h.ProducerID,
			lastDelta: h.LastOffsetDelta,
			seq:       h.BaseSequence,
			epoch:     h.ProducerEpoch,
			control:   h.IsControl(),
		})
		off += h.Size()
	}

	res, queued, err := l.enqueue(ctx, r)
	if opt.Queued != nil {
		opt.Queued()
	}
	if err != nil || !queued {
		l.putReq(r)
		return res, err
	}
	if opt.NoWait {
		return res, nil // the writer recycles r
	}
	err = <-r.done
	l.putReq(r)
	return res, err
}

// enqueue assigns offsets to r and queues it. queued=false: r was answered
// without queueing (error or an already durable duplicate).
func (l *Log) enqueue(ctx context.Context, r *appendReq) (res AppendResult, queued bool, err error) {
	l.qmu.Lock()
	for l.queued > 0 && l.queued+len(r.records) > l.queueLimit && !l.closed && l.failed == nil {
		if l.space == nil {
			l.space = make(chan struct{})
		}
		ch := l.space
		l.qmu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return AppendResult{}, false, fmt.Errorf("storage: append to %s: waiting for queue space: %w", l.name, ctx.Err())
		}
		l.qmu.Lock()
	}
	defer l.qmu.Unlock()
	if err := l.appendableLocked(); err != nil {
		return AppendResult{}, false, err
	}
	res, err = l.assignLocked(r)
	if err != nil {
		return res, false, fmt.Errorf("storage: append to %s: %w", l.name, err)
	}
	res.LogStartOffset = l.logStart.Load()
	if res.Duplicate {
		if r.noWait || res.LastOffset < l.hwm.Load() {
			return res, false, nil
		}
		// The original is queued or being written: answer after it is durable.
		r.records, r.batches = nil, r.batches[:0]
	} else {
		l.queued += len(r.records)
	}
	if r.hasRaft && r.raft.Index > l.lastRaft.Load() {
		l.lastRaft.Store(r.raft.Index)
	}
	l.queue = append(l.queue, r)
	l.wake()
	return res, true, nil
}

func (l *Log) appendableLocked() error {
	if l.closed {
		return fmt.Errorf("storage: append to %s: %w", l.name, ErrClosed)
	}
	if l.failed != nil {
		return fmt.Errorf("storage: append to %s: %w", l.name, l.failed)
	}
	return nil
}

// assignLocked runs the idempotence checks and assigns offsets to every
// batch of r, all or nothing.
func (l *Log) assignLocked(r *appendReq) (AppendResult, error) {
	type undo struct {
		pid   int64
		state producerState
		isNew bool
	}
	var undos []undo // only for multi-batch payloads
	rollback := func() {
		for i := len(undos) - 1; i >= 0; i-- {
			u := undos[i]
			if u.isNew {
				delete(l.producers, u.pid)
			} else {
				*l.producers[u.pid] = u.state
			}
		}
	}
	var res AppendResult
	next := l.nextOffset
	dups, fresh := 0, 0
	for i := range r.batches {
		b := &r.batches[i]
		var lastSeq int32
		if b.idempotent() {
			lastSeq = lastSequence(b.seq, b.lastDelta)
			orig, isDup, err := l.producers.check(b.pid, b.epoch, b.seq, lastSeq)
			if err != nil {
				rollback()
				return AppendResult{}, fmt.Errorf("batch at byte %d: %w", b.off, err)
			}
			if isDup {
				if dups == 0 {
					res.BaseOffset = orig.base
				}
				res.LastOffset = orig.last
				dups++
				continue
			}
		}
		b.base = next
		next += int64(b.lastDelta) + 1
		fresh++
		if b.idempotent() {
			if len(r.batches) > 1 {
				u := undo{pid: b.pid}
				if st := l.producers[b.pid]; st != nil {
					u.state = *st
				} else {
					u.isNew = true
				}
				undos = append(undos, u)
			}
			l.producers.update(b.pid, b.epoch, seqBatch{firstSeq: b.seq, lastSeq: lastSeq, base: b.base, last: b.base + int64(b.lastDelta)})
		}
	}
	switch {
	case dups > 0 && fresh > 0:
		rollback()
		return AppendResult{}, fmt.Errorf("payload mixes %d duplicate and %d new idempotent batches: %w", dups, fresh, kerr.DuplicateSequenceNumber)
	case dups > 0:
		res.Duplicate = true
		return res, nil
	}
	res.BaseOffset = r.batches[0].base
	res.LastOffset = next - 1
	l.nextOffset = next
	return res, nil
}

// control queues a request without data and waits for the writer to answer it.
func (l *Log) control(kind reqKind) error {
	r := l.getReq()
	r.kind = kind
	l.qmu.Lock()
	if err := l.appendableLocked(); err != nil {
		l.qmu.Unlock()
		l.putReq(r)
		return err
	}
	l.queue = append(l.queue, r)
	l.wake()
	l.qmu.Unlock()
	err := <-r.done
	l.putReq(r)
	return err
}
