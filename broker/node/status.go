package node

import (
	"github.com/chronik-stream/chronik/broker/httpapi"
)

// standaloneStatus answers /health and /admin/cluster/* for a single node: it is the
// whole cluster and its leader.
type standaloneStatus struct{ n *Node }

func (s standaloneStatus) Health() (status string, clusterSize int, isLeader bool, reason string) {
	return "healthy", 1, true, ""
}

func (s standaloneStatus) self() httpapi.Member {
	return httpapi.Member{NodeID: uint64(s.n.cfg.KafkaNodeID()), Addr: s.n.cfg.EffectiveAdvertisedNodeAddr(), State: "leader"}
}

func (s standaloneStatus) Members() []httpapi.Member { return []httpapi.Member{s.self()} }

func (s standaloneStatus) Leader() (httpapi.Member, bool) { return s.self(), true }

// brokerSource feeds the broker gauges of /metrics.
type brokerSource struct{ n *Node }

func (b brokerSource) HighWatermarks() []httpapi.PartitionHWM {
	logs := b.n.logs.Logs()
	out := make([]httpapi.PartitionHWM, 0, len(logs))
	for _, pl := range logs {
		out = append(out, httpapi.PartitionHWM{Topic: pl.Topic, Partition: pl.Partition, HighWatermark: pl.Log.HighWatermark()})
	}
	return out
}

func (b brokerSource) ClusterNodes() int {
	if b.n.cluster != nil {
		return b.n.cluster.ClusterNodes()
	}
	return 1
}

func (b brokerSource) DiskStats() (segments int, bytes int64) {
	for _, pl := range b.n.logs.Logs() {
		st := pl.Log.Stats()
		segments += st.Segments
		bytes += st.Bytes
	}
	return segments, bytes
}
