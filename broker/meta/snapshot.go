package meta

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
)

// Snapshot encodes the whole state as one "snapshot" command. Applying it
// (Apply) replaces the state: it is the Raft FSM snapshot/restore format and
// what Compact writes.
func (s *Store) Snapshot() ([]byte, error) {
	s.mu.RLock()
	c := s.snapshotLocked()
	s.mu.RUnlock()
	return encodeCommand(kindSnapshot, &c, s.now().UnixMilli())
}

func (s *Store) snapshotLocked() snapshotCmd {
	c := snapshotCmd{NextProducerID: s.nextPID, Topics: []topicJSON{}, Groups: []GroupRecord{}, Offsets: []groupOffsets{}}
	for _, name := range slices.Sorted(maps.Keys(s.topics)) {
		t := s.topics[name]
		c.Topics = append(c.Topics, topicJSON{Name: t.Name, ID: formatUUID(t.ID), Partitions: t.Partitions, ReplicationFactor: t.ReplicationFactor, Configs: t.Configs})
	}
	for _, name := range slices.Sorted(maps.Keys(s.groups)) {
		c.Groups = append(c.Groups, s.groups[name])
	}
	for _, name := range slices.Sorted(maps.Keys(s.offsets)) {
		offs := slices.Collect(maps.Values(s.offsets[name]))
		sortOffsets(offs)
		c.Offsets = append(c.Offsets, groupOffsets{Group: name, Offsets: offs})
	}
	return c
}

// applySnapshot replaces the state with a snapshot's; a malformed snapshot
// leaves the state untouched.
func (s *Store) applySnapshot(c snapshotCmd) error {
	topics := make(map[string]Topic, len(c.Topics))
	for _, t := range c.Topics {
		id, err := parseUUID(t.ID)
		if err != nil {
			return fmt.Errorf("snapshot topic %q: %w", t.Name, err)
		}
		topics[t.Name] = Topic{Name: t.Name, ID: id, Partitions: t.Partitions, ReplicationFactor: t.ReplicationFactor, Configs: cloneConfigs(t.Configs)}
	}
	groups := make(map[string]GroupRecord, len(c.Groups))
	for _, g := range c.Groups {
		groups[g.Name] = g.clone()
	}
	offsets := make(map[string]map[TopicPartition]OffsetCommit, len(c.Offsets))
	for _, g := range c.Offsets {
		m := make(map[TopicPartition]OffsetCommit, len(g.Offsets))
		for _, o := range g.Offsets {
			m[TopicPartition{o.Topic, o.Partition}] = o
		}
		if len(m) > 0 {
			offsets[g.Group] = m
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.topics, s.groups, s.offsets = topics, groups, offsets
	s.nextPID = cmp.Or(c.NextProducerID, 1)
	s.sinceSnapshot = 0
	return nil
}

// stats summarises the state for log lines.
func (s *Store) stats() (topics, groups int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := map[string]struct{}{}
	for g := range s.groups {
		names[g] = struct{}{}
	}
	for g := range s.offsets {
		names[g] = struct{}{}
	}
	return len(s.topics), len(names)
}
