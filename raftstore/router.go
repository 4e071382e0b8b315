package raftstore

import (
	"context"

	"github.com/chronik-stream/chronik/broker/kafka"
)

// KafkaCluster is the node's view for the Kafka protocol handlers (kafka.Cluster).
func (n *Node) KafkaCluster() kafka.Cluster { return kafkaView{n} }

type kafkaView struct{ n *Node }

func broker(info NodeInfo) kafka.Broker {
	return kafka.Broker{NodeID: int32(info.ID), Host: info.KafkaHost, Port: info.KafkaPort}
}

func (v kafkaView) Brokers() []kafka.Broker {
	var out []kafka.Broker
	v.n.fsm.view(func(s *ClusterState) {
		for _, id := range s.NodeIDs() {
			out = append(out, broker(s.Nodes[id]))
		}
	})
	return out
}

func (v kafkaView) ControllerID() int32 {
	if id := v.n.Leader(); id != 0 {
		return int32(id)
	}
	return -1
}

func (v kafkaView) Coordinator() (kafka.Broker, bool) {
	id := v.n.Leader()
	if id == 0 {
		return kafka.Broker{}, false
	}
	var b kafka.Broker
	ok := false
	v.n.fsm.view(func(s *ClusterState) {
		var info NodeInfo
		if info, ok = s.Nodes[id]; ok {
			b = broker(info)
		}
	})
	return b, ok
}

func (v kafkaView) Partition(topic string, partition int32) (int32, []int32) {
	var gi DataGroupInfo
	ok := false
	v.n.fsm.view(func(s *ClusterState) { gi, ok = s.Group(s.GroupOf(topic, partition)) })
	if !ok {
		return -1, nil
	}
	replicas := make([]int32, 0, len(gi.Replicas))
	for _, r := range gi.Replicas {
		replicas = append(replicas, int32(r))
	}
	return v.n.data.partitionLeader(gi), replicas
}

func (v kafkaView) SyncMetadata(ctx context.Context) error { return v.n.SyncMetadata(ctx) }

func (v kafkaView) Log(topic string, partition int32) (kafka.PartitionLog, error) {
	l, err := v.n.data.log(topic, partition)
	if err != nil {
		return nil, err
	}
	return l, nil
}
