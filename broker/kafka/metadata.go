package kafka

// Metadata (key 3), versions 0–8. v0 asks for every topic with an empty list, v1+ with a null
// one. Unknown topics are created when Config.AutoCreateTopics is set and the request allows it
// (always below v4, allow_auto_topic_creation from v4). Standalone: this node leads every
// partition with leader epoch 0; replicas and ISR are [node]; the controller is this node. In a
// cluster (Deps.Cluster) every node is listed, the controller is the metadata leader and each
// partition's leader and replicas are those of its data group (LEADER_NOT_AVAILABLE while the
// group has no leader); leader epochs stay 0. Topic IDs (v10+) are not served.

import (
	"context"
	"errors"

	"github.com/chronik-stream/chronik/broker/meta"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ACL operation bits (KIP-430) reported when a client asks for authorized operations: we
// have no authorizer, so everything is allowed.
const (
	topicAuthorizedOps   = 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<10 | 1<<11
	clusterAuthorizedOps = 1<<5 | 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12
)

func (s *Server) handleMetadata(ctx context.Context, r *kmsg.MetadataRequest) *kmsg.MetadataResponse {
	resp := r.ResponseKind().(*kmsg.MetadataResponse)
	if s.deps.Cluster != nil {
		// Show every change acknowledged anywhere in the cluster (e.g. a topic just created
		// through another node); on failure answer from what this node has.
		if err := s.deps.Cluster.SyncMetadata(ctx); err != nil {
			s.logger.Debug("metadata sync failed; answering from local state", "err", err)
		}
	}
	for _, br := range s.brokers() {
		b := kmsg.NewMetadataResponseBroker()
		b.NodeID, b.Host, b.Port = br.NodeID, br.Host, br.Port
		resp.Brokers = append(resp.Brokers, b)
	}
	clusterID := s.cfg.ClusterID
	resp.ClusterID = &clusterID
	resp.ControllerID = s.controllerID()
	if r.IncludeClusterAuthorizedOperations {
		resp.AuthorizedOperations = clusterAuthorizedOps
	}
	nodes := []int32{s.cfg.NodeID} // shared by every partition: encoding only reads it

	if r.Topics == nil || (r.Version == 0 && len(r.Topics) == 0) {
		topics := s.deps.Meta.Topics()
		resp.Topics = make([]kmsg.MetadataResponseTopic, 0, len(topics))
		for _, tp := range topics {
			resp.Topics = append(resp.Topics, s.topicMetadata(tp, nodes, r.IncludeTopicAuthorizedOperations))
		}
		return resp
	}

	allowCreate := s.cfg.AutoCreateTopics && (r.Version < 4 || r.AllowAutoTopicCreation)
	resp.Topics = make([]kmsg.MetadataResponseTopic, 0, len(r.Topics))
	seen := make(map[string]struct{}, len(r.Topics))
	for _, rt := range r.Topics {
		if rt.Topic == nil {
			continue // lookups by topic ID need v10+, which we do not serve
		}
		name := *rt.Topic
		if _, dup := seen[name]; dup {
			continue
		}
		seen[name] = struct{}{}
		tp, ok := s.deps.Meta.Topic(name)
		if !ok && allowCreate {
			created, err := s.topics.create(ctx, createRequest{name: name, partitions: -1, rf: -1}, false)
			switch {
			case err == nil:
				tp, ok = created, true
			case errors.Is(err, kerr.TopicAlreadyExists), errors.Is(err, kerr.KafkaStorageError):
				tp, ok = s.deps.Meta.Topic(name)
			default:
				s.logger.Warn("auto-creating topic failed", "topic", name, "err", err)
				resp.Topics = append(resp.Topics, topicError(name, errCode(err, kerr.UnknownServerError)))
				continue
			}
		}
		if !ok {
			code := kerr.UnknownTopicOrPartition.Code
			if validateTopicName(name) != nil {
				code = kerr.InvalidTopicException.Code
			}
			resp.Topics = append(resp.Topics, topicError(name, code))
			continue
		}
		resp.Topics = append(resp.Topics, s.topicMetadata(tp, nodes, r.IncludeTopicAuthorizedOperations))
	}
	return resp
}

func topicError(name string, code int16) kmsg.MetadataResponseTopic {
	t := kmsg.NewMetadataResponseTopic()
	t.Topic = kmsg.StringPtr(name)
	t.ErrorCode = code
	return t
}

func (s *Server) topicMetadata(tp meta.Topic, nodes []int32, authorizedOps bool) kmsg.MetadataResponseTopic {
	t := kmsg.NewMetadataResponseTopic()
	t.Topic = kmsg.StringPtr(tp.Name)
	t.TopicID = tp.ID
	if authorizedOps {
		t.AuthorizedOperations = topicAuthorizedOps
	}
	t.Partitions = make([]kmsg.MetadataResponseTopicPartition, tp.Partitions)
	for i := range t.Partitions {
		p := &t.Partitions[i]
		p.Default()
		p.Partition = int32(i)
		p.Leader = s.cfg.NodeID
		p.LeaderEpoch = 0
		p.Replicas = nodes
		p.ISR = nodes
		if s.deps.Cluster != nil {
			p.Leader, p.Replicas = s.deps.Cluster.Partition(tp.Name, int32(i))
			p.ISR = p.Replicas
			if p.Leader < 0 {
				p.ErrorCode = kerr.LeaderNotAvailable.Code
			}
		}
	}
	return t
}

// brokers lists the brokers clients may connect to: this node alone in standalone mode.
func (s *Server) brokers() []Broker {
	if s.deps.Cluster != nil {
		if bs := s.deps.Cluster.Brokers(); len(bs) > 0 {
			return bs
		}
	}
	host, port := s.advertisedAddr()
	return []Broker{{NodeID: s.cfg.NodeID, Host: host, Port: port}}
}

// controllerID is the node announced as controller.
func (s *Server) controllerID() int32 {
	if s.deps.Cluster != nil {
		return s.deps.Cluster.ControllerID()
	}
	return s.cfg.NodeID
}
