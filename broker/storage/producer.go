package storage

import (
	"fmt"
	"math"

	"github.com/twmb/franz-go/pkg/kerr"
)

// producerHistory is how many recent batches per producer id are remembered
// for duplicate detection (Kafka's max.in.flight.requests.per.connection bound).
const producerHistory = 5

// seqBatch is one remembered batch of an idempotent producer.
type seqBatch struct {
	firstSeq, lastSeq int32
	base, last        int64
}

// producerState is what the log knows of one producer id. It is a value type
// so that a multi-batch append can snapshot and restore it cheaply.
type producerState struct {
	epoch   int16
	n       int // valid entries in batches
	head    int // index of the newest entry
	batches [producerHistory]seqBatch
}

func (s *producerState) newest() seqBatch { return s.batches[s.head] }

func (s *producerState) push(b seqBatch) {
	if s.n > 0 {
		s.head = (s.head + 1) % producerHistory
	}
	s.batches[s.head] = b
	if s.n < producerHistory {
		s.n++
	}
}

// producers maps producer id to state. The queue lock of the Log guards it.
type producers map[int64]*producerState

// lastSequence is the sequence number of a batch's last record; sequences
// wrap from math.MaxInt32 to 0.
func lastSequence(first, lastOffsetDelta int32) int32 {
	s := int64(first) + int64(lastOffsetDelta)
	if s > math.MaxInt32 {
		s -= math.MaxInt32 + 1
	}
	return int32(s)
}

func nextSequence(s int32) int32 {
	if s == math.MaxInt32 {
		return 0
	}
	return s + 1
}

// check decides a batch of producer pid: a duplicate of one of the last
// batches (its original offsets are returned), in sequence (nil), or refused
// (kerr.InvalidProducerEpoch, kerr.OutOfOrderSequenceNumber). A producer the
// log does not know may start at any sequence, as in Kafka: its state may
// have gone with deleted segments.
func (p producers) check(pid int64, epoch int16, firstSeq, lastSeq int32) (dup seqBatch, isDup bool, err error) {
	st := p[pid]
	if st == nil {
		return seqBatch{}, false, nil
	}
	switch {
	case epoch < st.epoch:
		return seqBatch{}, false, fmt.Errorf("producer %d epoch %d is older than the current epoch %d: %w", pid, epoch, st.epoch, kerr.InvalidProducerEpoch)
	case epoch > st.epoch:
		if firstSeq != 0 {
			return seqBatch{}, false, fmt.Errorf("producer %d new epoch %d starts at sequence %d, want 0: %w", pid, epoch, firstSeq, kerr.OutOfOrderSequenceNumber)
		}
		return seqBatch{}, false, nil
	}
	for i := 0; i < st.n; i++ {
		if b := st.batches[i]; b.firstSeq == firstSeq && b.lastSeq == lastSeq {
			return b, true, nil
		}
	}
	if st.n == 0 {
		return seqBatch{}, false, nil
	}
	if want := nextSequence(st.newest().lastSeq); firstSeq != want {
		return seqBatch{}, false, fmt.Errorf("producer %d epoch %d sent sequence %d, expected %d: %w", pid, epoch, firstSeq, want, kerr.OutOfOrderSequenceNumber)
	}
	return seqBatch{}, false, nil
}

// update records an accepted batch; a new epoch forgets the old one's batches.
func (p producers) update(pid int64, epoch int16, b seqBatch) {
	st := p[pid]
	if st == nil {
		st = &producerState{epoch: epoch}
		p[pid] = st
	}
	if epoch != st.epoch {
		*st = producerState{epoch: epoch}
	}
	st.push(b)
}
