package kafka

// CreatePartitions (key 37), versions 0–1. Grows a topic to the requested total; a total not
// above the current count answers INVALID_PARTITIONS. A manual assignment must place each new
// partition on this node only. validate_only checks without changing.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleCreatePartitions(ctx context.Context, r *kmsg.CreatePartitionsRequest) *kmsg.CreatePartitionsResponse {
	resp := r.ResponseKind().(*kmsg.CreatePartitionsResponse)
	counts := make(map[string]int, len(r.Topics))
	for i := range r.Topics {
		counts[r.Topics[i].Topic]++
	}
	resp.Topics = make([]kmsg.CreatePartitionsResponseTopic, 0, len(r.Topics))
	for i := range r.Topics {
		rt := &r.Topics[i]
		ot := kmsg.NewCreatePartitionsResponseTopic()
		ot.Topic = rt.Topic
		err := func() error {
			if counts[rt.Topic] > 1 {
				return errorf(kerr.InvalidRequest, "topic %q appears more than once in the request", rt.Topic)
			}
			for _, a := range rt.Assignment {
				if len(a.Replicas) != 1 || a.Replicas[0] != s.cfg.NodeID {
					return errorf(kerr.InvalidReplicaAssignment, "new partitions of topic %q must be assigned to broker %d only, got %v", rt.Topic, s.cfg.NodeID, a.Replicas)
				}
			}
			if len(rt.Assignment) > 0 {
				if tp, ok := s.deps.Meta.Topic(rt.Topic); ok && int32(len(rt.Assignment)) != rt.Count-tp.Partitions {
					return errorf(kerr.InvalidReplicaAssignment, "increasing the number of partitions of topic %q by %d needs %d assignments, got %d",
						rt.Topic, rt.Count-tp.Partitions, rt.Count-tp.Partitions, len(rt.Assignment))
				}
			}
			return s.topics.addPartitions(ctx, rt.Topic, rt.Count, r.ValidateOnly)
		}()
		ot.ErrorCode = errCode(err, kerr.UnknownServerError)
		ot.ErrorMessage = errMessage(err)
		resp.Topics = append(resp.Topics, ot)
	}
	return resp
}
