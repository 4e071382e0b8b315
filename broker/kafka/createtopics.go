package kafka

// CreateTopics (key 19), versions 0–5 (flexible from 5). num_partitions and
// replication_factor -1 take the broker defaults (any version); a replication factor above
// the number of brokers answers INVALID_REPLICATION_FACTOR; a manual replica assignment must
// place each partition on this node only. Topic names follow Kafka's rules (ASCII
// alphanumerics, '.', '_', '-', at most 249 characters, not "." or ".."). Configs are checked
// against the known topic keys (INVALID_CONFIG naming the key). validate_only checks without
// creating. v5 responses carry the topic's partitions, replication factor and configs.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleCreateTopics(ctx context.Context, r *kmsg.CreateTopicsRequest) *kmsg.CreateTopicsResponse {
	resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
	counts := make(map[string]int, len(r.Topics))
	for i := range r.Topics {
		counts[r.Topics[i].Topic]++
	}
	resp.Topics = make([]kmsg.CreateTopicsResponseTopic, 0, len(r.Topics))
	for i := range r.Topics {
		rt := &r.Topics[i]
		ot := kmsg.NewCreateTopicsResponseTopic()
		ot.Topic = rt.Topic
		ot.NumPartitions, ot.ReplicationFactor = -1, -1
		err := func() error {
			if counts[rt.Topic] > 1 {
				return errorf(kerr.InvalidRequest, "topic %q appears more than once in the request", rt.Topic)
			}
			cr, err := s.createRequestOf(rt)
			if err != nil {
				return err
			}
			tp, err := s.topics.create(ctx, cr, r.ValidateOnly)
			if err != nil {
				return err
			}
			ot.NumPartitions, ot.ReplicationFactor = tp.Partitions, tp.ReplicationFactor
			if r.Version >= 5 {
				for _, c := range s.topicConfigs(tp.Configs, nil, false, false) {
					rc := kmsg.NewCreateTopicsResponseTopicConfig()
					rc.Name, rc.Value, rc.ReadOnly, rc.Source, rc.IsSensitive = c.Name, c.Value, c.ReadOnly, int8(c.Source), c.IsSensitive
					ot.Configs = append(ot.Configs, rc)
				}
			}
			return nil
		}()
		if err != nil {
			ot.ErrorCode = errCode(err, kerr.UnknownServerError)
			if r.Version >= 1 {
				ot.ErrorMessage = errMessage(err)
			}
			if ot.ErrorCode != kerr.TopicAlreadyExists.Code {
				s.logger.Debug("create topic refused", "topic", rt.Topic, "err", err)
			}
		}
		resp.Topics = append(resp.Topics, ot)
	}
	return resp
}

// createRequestOf turns one requested topic into a createRequest, resolving a manual replica
// assignment and collecting configs.
func (s *Server) createRequestOf(rt *kmsg.CreateTopicsRequestTopic) (createRequest, error) {
	cr := createRequest{name: rt.Topic, partitions: rt.NumPartitions, rf: rt.ReplicationFactor}
	if len(rt.ReplicaAssignment) > 0 {
		if rt.NumPartitions != -1 || rt.ReplicationFactor != -1 {
			return cr, errorf(kerr.InvalidRequest, "both num_partitions/replication_factor and a replica assignment were given for topic %q", rt.Topic)
		}
		seen := make([]bool, len(rt.ReplicaAssignment))
		for _, a := range rt.ReplicaAssignment {
			if a.Partition < 0 || int(a.Partition) >= len(seen) || seen[a.Partition] {
				return cr, errorf(kerr.InvalidReplicaAssignment, "partitions of topic %q must be numbered 0..%d, each once", rt.Topic, len(seen)-1)
			}
			seen[a.Partition] = true
			if len(a.Replicas) != 1 || a.Replicas[0] != s.cfg.NodeID {
				return cr, errorf(kerr.InvalidReplicaAssignment, "partition %d of topic %q must be assigned to broker %d only, got %v", a.Partition, rt.Topic, s.cfg.NodeID, a.Replicas)
			}
		}
		cr.partitions = int32(len(rt.ReplicaAssignment))
		cr.rf = 1
	}
	if len(rt.Configs) > 0 {
		cr.configs = make(map[string]string, len(rt.Configs))
		for _, c := range rt.Configs {
			if _, dup := cr.configs[c.Name]; dup {
				return cr, errorf(kerr.InvalidRequest, "config %s appears more than once for topic %q", c.Name, rt.Topic)
			}
			if c.Value == nil {
				return cr, errorf(kerr.InvalidConfig, "null value is not supported for topic config %s", c.Name)
			}
			cr.configs[c.Name] = *c.Value
		}
	}
	return cr, nil
}
