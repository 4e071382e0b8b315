package kafka

// DeleteRecords (key 21), versions 0–1. Moves each partition's log start offset to the
// requested offset (-1 = high watermark) and answers the new low watermark; offsets above the
// high watermark answer OFFSET_OUT_OF_RANGE. Whole segments below the new start are reclaimed
// by storage.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleDeleteRecords(r *kmsg.DeleteRecordsRequest) *kmsg.DeleteRecordsResponse {
	resp := r.ResponseKind().(*kmsg.DeleteRecordsResponse)
	resp.Topics = make([]kmsg.DeleteRecordsResponseTopic, len(r.Topics))
	for i := range r.Topics {
		rt := &r.Topics[i]
		ot := &resp.Topics[i]
		ot.Default()
		ot.Topic = rt.Topic
		ot.Partitions = make([]kmsg.DeleteRecordsResponseTopicPartition, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			op := &ot.Partitions[j]
			op.Default()
			op.Partition = rp.Partition
			op.LowWatermark = -1
			l, err := s.topics.partition(rt.Topic, rp.Partition)
			if err == nil {
				if rp.Offset < -1 {
					err = errorf(kerr.OffsetOutOfRange, "offset %d is not valid", rp.Offset)
				} else {
					op.LowWatermark, err = l.DeleteRecords(rp.Offset)
				}
			}
			if err != nil {
				op.LowWatermark = -1
				op.ErrorCode = errCode(err, kerr.KafkaStorageError)
				s.logger.Debug("delete records failed", "topic", rt.Topic, "partition", rp.Partition, "offset", rp.Offset, "err", err)
				continue
			}
			s.logger.Info("records deleted", "topic", rt.Topic, "partition", rp.Partition, "log_start_offset", op.LowWatermark)
		}
	}
	return resp
}
