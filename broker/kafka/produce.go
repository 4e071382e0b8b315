package kafka

// Produce (key 0), versions 3–8 (magic-2 record batches only; flexible versions start at 9).
// acks 0, 1 and -1 are accepted; in standalone mode acks=1 and acks=-1 both answer after the
// partition log's fsync, and acks=0 returns once the batches are queued and sends no response.
// Batches are handed to storage as the producer encoded them (storage rewrites the base offset
// only); unknown topics answer UNKNOWN_TOPIC_OR_PARTITION (Produce never auto-creates).
// Transactional produce is refused: transactions are not served. LogAppendTime is -1. A failed
// acks=0 produce closes the connection, as Kafka does, so the producer refreshes its metadata.

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	batchLengthOffset = 8  // int32 length after the int64 base offset
	batchMagicOffset  = 16 // after length and partition leader epoch
	batchHeaderBytes  = 61 // a RecordBatch without records
)

// produceJob is one partition of a produce request.
type produceJob struct {
	topic    string
	maxBytes int64
	records  []byte
	out      *kmsg.ProduceResponseTopicPartition
}

// errAcksZeroFailed closes the connection of an acks=0 producer whose produce failed.
var errAcksZeroFailed = errors.New("acks=0 produce failed")

// handleProduce answers nil, nil for a successful acks=0 produce (no response is sent).
// Pipelined produces of one connection are ordered only until their appends are queued
// (offsets assigned): then the next produce may start, so that several requests of one
// connection share a group commit while their appends stay in request order.
func (s *Server) handleProduce(ctx context.Context, rc *requestContext, r *kmsg.ProduceRequest) (*kmsg.ProduceResponse, error) {
	resp := r.ResponseKind().(*kmsg.ProduceResponse)
	var reject error
	switch {
	case r.TransactionID != nil:
		reject = errorf(kerr.TransactionalIDAuthorizationFailed, "transactional produce is not supported")
	case r.Acks != 0 && r.Acks != 1 && r.Acks != -1:
		reject = errorf(kerr.InvalidRequiredAcks, "acks must be -1, 0 or 1, got %d", r.Acks)
	}

	n := 0
	for i := range r.Topics {
		n += len(r.Topics[i].Partitions)
	}
	jobs := make([]produceJob, 0, n)
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(r.Topics))
	for i := range r.Topics {
		rt := &r.Topics[i]
		ot := &resp.Topics[i]
		ot.Default()
		ot.Topic = rt.Topic
		ot.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		maxBytes := int64(-1)
		if tp, ok := s.deps.Meta.Topic(rt.Topic); ok {
			maxBytes = s.topics.maxMessageBytes(tp)
		}
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			op := &ot.Partitions[j]
			op.Default()
			op.Partition = rp.Partition
			op.BaseOffset = -1
			op.LogAppendTime = -1
			op.LogStartOffset = -1
			if reject != nil {
				setProduceError(op, reject, r.Version)
				continue
			}
			jobs = append(jobs, produceJob{topic: rt.Topic, maxBytes: maxBytes, records: rp.Records, out: op})
		}
	}

	// The append outlives a client that disconnects (as in Kafka), bounded by the request timeout.
	actx := context.WithoutCancel(ctx)
	if r.TimeoutMillis > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(actx, time.Duration(r.TimeoutMillis)*time.Millisecond)
		defer cancel()
	}
	var unqueued atomic.Int32
	unqueued.Store(int32(len(jobs)))
	opt := storage.AppendOptions{NoWait: r.Acks == 0, Queued: func() {
		if unqueued.Add(-1) == 0 && rc.release != nil {
			rc.release()
		}
	}}
	if len(jobs) == 1 || r.Acks == 0 {
		for i := range jobs {
			s.produceOne(actx, &jobs[i], opt, r.Version)
		}
	} else {
		var wg sync.WaitGroup
		for i := range jobs {
			wg.Go(func() { s.produceOne(actx, &jobs[i], opt, r.Version) })
		}
		wg.Wait()
	}
	if r.Acks == 0 {
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				if resp.Topics[i].Partitions[j].ErrorCode != 0 {
					// As Kafka does: the producer learns of the failure by the connection closing.
					return nil, errAcksZeroFailed
				}
			}
		}
		return nil, nil
	}
	return resp, nil
}

// produceOne appends one partition's batches and fills its response.
func (s *Server) produceOne(ctx context.Context, j *produceJob, opt storage.AppendOptions, version int16) {
	l, err := s.topics.partition(j.topic, j.out.Partition)
	if err == nil {
		err = checkBatches(j.records, j.maxBytes)
	}
	if err != nil {
		opt.Queued()
		setProduceError(j.out, err, version)
		return
	}
	res, err := l.Append(ctx, j.records, opt)
	if err != nil {
		s.logger.Debug("produce failed", "topic", j.topic, "partition", j.out.Partition, "err", err)
		setProduceError(j.out, err, version)
		return
	}
	j.out.BaseOffset = res.BaseOffset
	j.out.LogStartOffset = res.LogStartOffset
}

func setProduceError(op *kmsg.ProduceResponseTopicPartition, err error, version int16) {
	op.ErrorCode = errCode(err, kerr.KafkaStorageError)
	if version >= 8 {
		op.ErrorMessage = errMessage(err)
	}
}

// checkBatches walks the concatenated record batches of a partition without copying: each must
// be a complete magic-2 batch no larger than maxBytes (-1 = unchecked). CRCs and sequence
// numbers are checked by storage.
func checkBatches(records []byte, maxBytes int64) error {
	if len(records) == 0 {
		return errorf(kerr.CorruptMessage, "empty record set")
	}
	for off := 0; off < len(records); {
		rest := records[off:]
		if len(rest) < batchHeaderBytes {
			return errorf(kerr.CorruptMessage, "truncated record batch at byte %d", off)
		}
		length := int64(int32(binary.BigEndian.Uint32(rest[batchLengthOffset:])))
		total := length + batchLengthOffset + 4
		if total < batchHeaderBytes || total > int64(len(rest)) {
			return errorf(kerr.CorruptMessage, "record batch at byte %d has invalid length %d", off, length)
		}
		if magic := rest[batchMagicOffset]; magic != 2 {
			return errorf(kerr.UnsupportedForMessageFormat, "record batch at byte %d has magic %d; only magic 2 is supported", off, magic)
		}
		if maxBytes >= 0 && total > maxBytes {
			return errorf(kerr.MessageTooLarge, "record batch of %d bytes exceeds max.message.bytes %d", total, maxBytes)
		}
		off += int(total)
	}
	return nil
}
