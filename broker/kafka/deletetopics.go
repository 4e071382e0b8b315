package kafka

// DeleteTopics (key 20), versions 0–4 (flexible from 4; topic IDs from 6 are not served).
// Each topic is removed from meta, then its partition logs are closed and deleted. Unknown
// topics answer UNKNOWN_TOPIC_OR_PARTITION.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleDeleteTopics(ctx context.Context, r *kmsg.DeleteTopicsRequest) *kmsg.DeleteTopicsResponse {
	resp := r.ResponseKind().(*kmsg.DeleteTopicsResponse)
	resp.Topics = make([]kmsg.DeleteTopicsResponseTopic, 0, len(r.TopicNames))
	done := make(map[string]int16, len(r.TopicNames))
	for _, name := range r.TopicNames {
		ot := kmsg.NewDeleteTopicsResponseTopic()
		ot.Topic = kmsg.StringPtr(name)
		if code, dup := done[name]; dup {
			ot.ErrorCode = code // a repeated name gets the first outcome
		} else {
			err := s.topics.delete(ctx, name)
			ot.ErrorCode = errCode(err, kerr.UnknownServerError)
			if r.Version >= 5 {
				ot.ErrorMessage = errMessage(err)
			}
			done[name] = ot.ErrorCode
		}
		resp.Topics = append(resp.Topics, ot)
	}
	return resp
}
