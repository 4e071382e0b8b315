package kafka

// ListOffsets (key 2), versions 1–5 (flexible versions start at 6). Timestamp -1 answers the
// high watermark (latest), -2 the log start offset (earliest), -3 the offset of the batch with
// the largest timestamp; any other timestamp the first batch whose max timestamp is at or after
// it (offset -1 and timestamp -1 when there is none). Leader epoch is 0. read_committed sees
// the same offsets as read_uncommitted (no transactions).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	listLatest       = -1
	listEarliest     = -2
	listMaxTimestamp = -3
)

func (s *Server) handleListOffsets(r *kmsg.ListOffsetsRequest) *kmsg.ListOffsetsResponse {
	resp := r.ResponseKind().(*kmsg.ListOffsetsResponse)
	resp.Topics = make([]kmsg.ListOffsetsResponseTopic, len(r.Topics))
	for i := range r.Topics {
		rt := &r.Topics[i]
		ot := &resp.Topics[i]
		ot.Default()
		ot.Topic = rt.Topic
		ot.Partitions = make([]kmsg.ListOffsetsResponseTopicPartition, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			op := &ot.Partitions[j]
			op.Default()
			op.Partition = rp.Partition
			op.Timestamp, op.Offset, op.LeaderEpoch = -1, -1, -1
			l, err := s.topics.partition(rt.Topic, rp.Partition)
			if err != nil {
				op.ErrorCode = errCode(err, kerr.UnknownServerError)
				continue
			}
			op.LeaderEpoch = 0
			switch rp.Timestamp {
			case listLatest:
				op.Offset = l.HighWatermark()
			case listEarliest:
				op.Offset = l.LogStartOffset()
			case listMaxTimestamp:
				op.Offset, op.Timestamp = l.MaxTimestamp()
			default:
				if rp.Timestamp < 0 {
					op.ErrorCode = kerr.InvalidRequest.Code
					op.LeaderEpoch = -1
					continue
				}
				off, ts, found := l.OffsetForTimestamp(rp.Timestamp)
				if !found {
					op.LeaderEpoch = -1
					continue
				}
				op.Offset, op.Timestamp = off, ts
			}
		}
	}
	return resp
}
