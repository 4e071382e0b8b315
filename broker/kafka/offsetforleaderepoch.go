package kafka

// OffsetForLeaderEpoch (key 23), versions 0–3 (flexible from 4). Every partition has had one
// leader epoch, 0, so epoch 0 (or an earlier one) ends at the high watermark; a later epoch is
// unknown (epoch -1, end offset -1, as Kafka answers for epochs past its latest).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleOffsetForLeaderEpoch(r *kmsg.OffsetForLeaderEpochRequest) *kmsg.OffsetForLeaderEpochResponse {
	resp := r.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	resp.Topics = make([]kmsg.OffsetForLeaderEpochResponseTopic, len(r.Topics))
	for i := range r.Topics {
		rt := &r.Topics[i]
		ot := &resp.Topics[i]
		ot.Default()
		ot.Topic = rt.Topic
		ot.Partitions = make([]kmsg.OffsetForLeaderEpochResponseTopicPartition, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			op := &ot.Partitions[j]
			op.Default()
			op.Partition = rp.Partition
			op.LeaderEpoch, op.EndOffset = -1, -1
			l, err := s.topics.partition(rt.Topic, rp.Partition)
			switch {
			case err != nil:
				op.ErrorCode = errCode(err, kerr.UnknownServerError)
			case rp.CurrentLeaderEpoch > 0:
				op.ErrorCode = kerr.UnknownLeaderEpoch.Code
			case rp.LeaderEpoch <= 0:
				op.LeaderEpoch, op.EndOffset = 0, l.HighWatermark()
			}
		}
	}
	return resp
}
