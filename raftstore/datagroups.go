package raftstore

import (
	"context"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-stream/chronik/broker/storage"
)

// dataGroups runs the data replication groups this node holds replicas of.
type dataGroups struct {
	n *Node

	mu     sync.RWMutex
	groups map[int]*raftGroup
}

func newDataGroups(n *Node) *dataGroups {
	return &dataGroups{n: n, groups: map[int]*raftGroup{}}
}

// run starts and stops the node's data groups as the placement in the cluster state changes.
func (d *dataGroups) run(ctx context.Context) { <-ctx.Done() }

// topicDeleted removes the partition logs of a deleted topic (metadata FSM, topics locked).
func (d *dataGroups) topicDeleted(name string) {
	if err := d.n.cfg.Logs.DeleteTopic(name); err != nil {
		d.n.logger.Warn("deleting the logs of a deleted topic failed", "topic", name, "err", err)
	}
}

// topicsChanged applies topic config changes to open logs (metadata FSM).
func (d *dataGroups) topicsChanged(kind string) {
	if kind != "set_topic_configs" && kind != "snapshot" {
		return
	}
	for _, pl := range d.n.cfg.Logs.Logs() {
		if t, ok := d.n.store.Topic(pl.Topic); ok {
			pl.Log.SetConfig(d.n.logConfig(t.Configs))
		}
	}
}

// logConfig is the storage config of a partition log of a topic with these configs.
func (n *Node) logConfig(configs map[string]string) storage.LogConfig {
	if n.cfg.TopicLogConfig != nil {
		return n.cfg.TopicLogConfig(configs)
	}
	lc := storage.DefaultLogConfig()
	lc.Format = n.cfg.WALFormat
	return lc
}

func (d *dataGroups) transferAll(ctx context.Context) {}

func (d *dataGroups) shutdown() error { return nil }

func (d *dataGroups) raftGroup(name string) *raftGroup {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, g := range d.groups {
		if g.name == name {
			return g
		}
	}
	return nil
}

func (d *dataGroups) raftGroups() []*raftGroup {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]*raftGroup, 0, len(d.groups))
	for _, g := range d.groups {
		out = append(out, g)
	}
	return out
}

// log returns the partition log for the Kafka handlers (level 1: the metadata leader serves
// every partition from its local log).
func (d *dataGroups) log(topic string, partition int32) (*storage.Log, error) {
	n := d.n
	if !n.IsLeader() {
		return nil, fmt.Errorf("topic %s partition %d is led by node %d: %w", topic, partition, n.Leader(), kerr.NotLeaderForPartition)
	}
	t, ok := n.store.Topic(topic)
	if !ok {
		return nil, kerr.UnknownTopicOrPartition
	}
	l, err := n.cfg.Logs.Open(topic, partition, n.logConfig(t.Configs))
	if err != nil {
		return nil, fmt.Errorf("open topic %s partition %d: %w: %w", topic, partition, kerr.KafkaStorageError, err)
	}
	return l, nil
}
