package raftstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-stream/chronik/broker/storage"
)

// maxEntryRecords bounds one produce payload proposed as a Raft entry (raft-wal takes entries up
// to 64 MiB).
const maxEntryRecords = 32 << 20

// replicatedLog is a partition log on its data group's leader, as the Kafka handlers use it
// (kafka.PartitionLog): appends go through Raft, reads come from the leader's local replica
// (which holds every committed and applied entry: high watermark = last applied).
type replicatedLog struct {
	*storage.Log
	n         *Node
	dg        *dataGroup
	topic     string
	topicID   [16]byte
	partition int32
}

func notLeader(topic string, partition int32, err error) error {
	return fmt.Errorf("topic %s partition %d: %w: %w", topic, partition, kerr.NotLeaderForPartition, err)
}

// Append proposes the payload as one Raft entry of the partition's data group and, unless
// opt.NoWait (acks=0), returns once the entry is committed by a quorum, applied by the leader's
// state machine and durable in the leader's partition log. acks=1 is answered like acks=all.
// opt.Queued is called once the entry is queued in Raft (its place in the log is fixed).
func (r *replicatedLog) Append(ctx context.Context, records []byte, opt storage.AppendOptions) (storage.AppendResult, error) {
	queued := opt.Queued
	signal := func() {
		if queued != nil {
			queued()
			queued = nil
		}
	}
	defer signal()
	if len(records) > maxEntryRecords {
		return storage.AppendResult{}, fmt.Errorf("topic %s partition %d: %d bytes exceed the %d bytes of one replicated append: %w",
			r.topic, r.partition, len(records), maxEntryRecords, kerr.MessageTooLarge)
	}
	if !r.dg.ready() {
		return storage.AppendResult{}, notLeader(r.topic, r.partition, errors.New("not the leader"))
	}
	entry := encodeDataEntry(dataEntry{
		leader:    r.n.id,
		ts:        time.Now().UnixMilli(),
		metaIndex: r.n.fsm.applied.Load(),
		topicID:   r.topicID,
		topic:     r.topic,
		partition: r.partition,
		records:   records,
	})
	timeout := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	f := r.dg.rg.r.Apply(entry, timeout)
	signal()
	if opt.NoWait {
		return storage.AppendResult{BaseOffset: -1, LastOffset: -1, LogStartOffset: -1}, nil
	}
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrEnqueueTimeout) {
			return storage.AppendResult{}, fmt.Errorf("topic %s partition %d: %w: %w", r.topic, r.partition, kerr.RequestTimedOut, err)
		}
		return storage.AppendResult{}, notLeader(r.topic, r.partition, err)
	}
	res, ok := f.Response().(dataResult)
	switch {
	case !ok:
		return storage.AppendResult{}, fmt.Errorf("topic %s partition %d: unexpected apply result %T: %w", r.topic, r.partition, f.Response(), kerr.UnknownServerError)
	case res.err != nil:
		return storage.AppendResult{}, res.err
	case res.replayed || res.log == nil:
		return storage.AppendResult{}, notLeader(r.topic, r.partition, errors.New("entry already applied"))
	}
	if err := waitDurable(ctx, res.log, res.res.LastOffset); err != nil {
		return storage.AppendResult{}, fmt.Errorf("topic %s partition %d: %w", r.topic, r.partition, err)
	}
	return res.res, nil
}

// waitDurable waits until the log's high watermark is past offset.
func waitDurable(ctx context.Context, l *storage.Log, offset int64) error {
	stalls := 0
	for {
		hwm := l.HighWatermark()
		if hwm > offset {
			return nil
		}
		ch := l.Changed()
		if l.HighWatermark() > offset {
			return nil
		}
		select {
		case <-ch:
			if l.HighWatermark() == hwm {
				if stalls++; stalls > 3 {
					return fmt.Errorf("partition log closed before offset %d was durable: %w", offset, kerr.KafkaStorageError)
				}
			}
		case <-ctx.Done():
			return fmt.Errorf("waiting for offset %d to be durable: %w: %w", offset, kerr.RequestTimedOut, context.Cause(ctx))
		}
	}
}
