package kafka

// Fetch (key 1), versions 4–11 (flexible versions start at 12; topic IDs at 13). Sessionless:
// every request is a full fetch and the response carries session id 0 (KIP-227 clients then
// stop trying to use sessions); an incremental request naming a session id answers
// FETCH_SESSION_ID_NOT_FOUND. Long poll: the response waits until min_bytes are available
// across the partitions, max_wait_ms passes, a partition reports an error, or the connection
// stops. partition_max_bytes and max_bytes are honoured except that the first partition with
// data always gets at least one whole batch (KIP-74). Record batches are the stored bytes,
// never re-encoded. Last stable offset = high watermark (no transactions); aborted
// transactions are null (empty for read_committed); preferred read replica -1.

import (
	"context"
	"reflect"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fetchPart is one requested partition and its response slot.
type fetchPart struct {
	topic string
	req   *kmsg.FetchRequestTopicPartition
	out   *kmsg.FetchResponseTopicPartition
	log   PartitionLog // nil when the partition is unknown
}

func (s *Server) handleFetch(ctx context.Context, r *kmsg.FetchRequest) *kmsg.FetchResponse {
	resp := r.ResponseKind().(*kmsg.FetchResponse)
	if r.Version >= 7 {
		switch {
		case r.SessionID != 0:
			resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
			return resp
		case r.SessionEpoch > 0:
			resp.ErrorCode = kerr.InvalidFetchSessionEpoch.Code
			return resp
		}
		resp.SessionID = 0
	}

	n := 0
	for i := range r.Topics {
		n += len(r.Topics[i].Partitions)
	}
	parts := make([]fetchPart, 0, n)
	resp.Topics = make([]kmsg.FetchResponseTopic, len(r.Topics))
	hasError := false
	for i := range r.Topics {
		rt := &r.Topics[i]
		ot := &resp.Topics[i]
		ot.Default()
		ot.Topic = rt.Topic
		ot.Partitions = make([]kmsg.FetchResponseTopicPartition, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			op := &ot.Partitions[j]
			op.Default()
			op.Partition = rp.Partition
			op.HighWatermark, op.LastStableOffset, op.LogStartOffset = -1, -1, -1
			op.RecordBatches = []byte{} // empty, not null: librdkafka rejects a null record set
			if r.IsolationLevel == 1 {
				op.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
			}
			l, err := s.topics.partition(rt.Topic, rp.Partition)
			if err != nil {
				op.ErrorCode = errCode(err, kerr.UnknownServerError)
				hasError = true
				continue
			}
			parts = append(parts, fetchPart{topic: rt.Topic, req: rp, out: op, log: l})
		}
	}
	if hasError || len(parts) == 0 {
		s.fillFetch(parts, r)
		return resp
	}

	wait := time.Duration(r.MaxWaitMillis) * time.Millisecond
	deadline := time.Now().Add(wait)
	var timer *time.Timer
	var changed []<-chan struct{}
	for {
		if wait > 0 && r.MinBytes > 0 {
			// Taken before reading: an append between the read and the wait still wakes us.
			changed = changed[:0]
			for i := range parts {
				changed = append(changed, parts[i].log.Changed())
			}
		}
		bytes, errored := s.fillFetch(parts, r)
		remaining := time.Until(deadline)
		if bytes >= int(r.MinBytes) || errored || wait <= 0 || remaining <= 0 || ctx.Err() != nil {
			return resp
		}
		if timer == nil {
			timer = time.NewTimer(remaining)
			defer timer.Stop()
		}
		if !waitAny(ctx, timer.C, changed) {
			s.fillFetch(parts, r)
			return resp
		}
	}
}

// fillFetch reads every known partition into its response slot and returns the record bytes
// gathered and whether a partition reported an error.
func (s *Server) fillFetch(parts []fetchPart, r *kmsg.FetchRequest) (total int, errored bool) {
	budget := int(r.MaxBytes)
	for i := range parts {
		p := &parts[i]
		p.out.ErrorCode = 0
		p.out.RecordBatches = []byte{} // empty, not null: librdkafka rejects a null record set
		limit := min(int(p.req.PartitionMaxBytes), budget-total)
		if total > 0 && limit <= 0 {
			// Budget spent: report positions only.
			p.out.HighWatermark = p.log.HighWatermark()
			p.out.LastStableOffset = p.out.HighWatermark
			p.out.LogStartOffset = p.log.LogStartOffset()
			continue
		}
		res, err := p.log.Read(p.req.FetchOffset, max(limit, 0))
		if err != nil {
			p.out.ErrorCode = errCode(err, kerr.KafkaStorageError)
			p.out.HighWatermark = p.log.HighWatermark()
			p.out.LastStableOffset = p.out.HighWatermark
			p.out.LogStartOffset = p.log.LogStartOffset()
			errored = true
			continue
		}
		p.out.HighWatermark = res.HighWatermark
		p.out.LastStableOffset = res.HighWatermark
		p.out.LogStartOffset = res.LogStartOffset
		if total > 0 && len(res.Records) > limit {
			// Only the first partition with data may exceed the limits (KIP-74).
			continue
		}
		if len(res.Records) > 0 {
			p.out.RecordBatches = res.Records
		}
		total += len(res.Records)
	}
	return total, errored
}

// waitAny blocks until one of changed is closed (true), or the timer fires or ctx is done (false).
func waitAny(ctx context.Context, timer <-chan time.Time, changed []<-chan struct{}) bool {
	if len(changed) == 1 {
		select {
		case <-changed[0]:
			return true
		case <-timer:
			return false
		case <-ctx.Done():
			return false
		}
	}
	cases := make([]reflect.SelectCase, 0, len(changed)+2)
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer)},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
	for _, ch := range changed {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	chosen, _, _ := reflect.Select(cases)
	return chosen >= 2
}
