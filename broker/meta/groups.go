package meta

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
)

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

// OffsetCommit is a committed offset of a group for one partition.
type OffsetCommit struct {
	Topic        string `json:"topic"`
	Partition    int32  `json:"partition"`
	Offset       int64  `json:"offset"`
	LeaderEpoch  int32  `json:"leader_epoch"`
	Metadata     string `json:"metadata,omitempty"`
	CommitTimeMs int64  `json:"commit_time_ms"`
}

// GroupRecord is the durable state of a classic consumer group (what Kafka
// keeps in __consumer_offsets as the group metadata record).
type GroupRecord struct {
	Name         string              `json:"name"`
	ProtocolType string              `json:"protocol_type,omitempty"`
	Protocol     string              `json:"protocol,omitempty"`
	Leader       string              `json:"leader,omitempty"`
	Generation   int32               `json:"generation"`
	Members      []GroupMemberRecord `json:"members,omitempty"`
}

// GroupMemberRecord is one member of a GroupRecord.
type GroupMemberRecord struct {
	MemberID           string `json:"member_id"`
	InstanceID         string `json:"instance_id,omitempty"`
	ClientID           string `json:"client_id,omitempty"`
	ClientHost         string `json:"client_host,omitempty"`
	SessionTimeoutMs   int32  `json:"session_timeout_ms"`
	RebalanceTimeoutMs int32  `json:"rebalance_timeout_ms"`
	ProtocolMetadata   []byte `json:"protocol_metadata,omitempty"`
	Assignment         []byte `json:"assignment,omitempty"`
}

func (g GroupRecord) clone() GroupRecord {
	if g.Members != nil {
		ms := make([]GroupMemberRecord, len(g.Members))
		for i, m := range g.Members {
			m.ProtocolMetadata = bytes.Clone(m.ProtocolMetadata)
			m.Assignment = bytes.Clone(m.Assignment)
			ms[i] = m
		}
		g.Members = ms
	}
	return g
}

func checkGroupName(group string) error {
	if group == "" {
		return fmt.Errorf("empty group id: %w", kerr.InvalidGroupID)
	}
	return nil
}

// CommitOffsets stores committed offsets of a group (durable on return).
// Errors wrap kerr.InvalidGroupID for an empty group id.
func (s *Store) CommitOffsets(ctx context.Context, group string, offs []OffsetCommit) error {
	if err := checkGroupName(group); err != nil {
		return err
	}
	if len(offs) == 0 {
		return nil
	}
	res, err := s.propose(ctx, kindCommitOffsets, &commitOffsetsCmd{Group: group, Offsets: offs})
	if err != nil {
		return err
	}
	return res.err
}

func (s *Store) applyCommitOffsets(c commitOffsetsCmd) applyResult {
	if err := checkGroupName(c.Group); err != nil {
		return applyResult{err: err}
	}
	m := s.offsets[c.Group]
	if m == nil {
		m = map[TopicPartition]OffsetCommit{}
		s.offsets[c.Group] = m
	}
	for _, o := range c.Offsets {
		m[TopicPartition{o.Topic, o.Partition}] = o
	}
	return applyResult{}
}

// FetchOffset returns a group's committed offset for one partition.
func (s *Store) FetchOffset(group, topic string, partition int32) (OffsetCommit, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.offsets[group][TopicPartition{topic, partition}]
	return o, ok
}

// GroupOffsets returns a group's committed offsets sorted by topic, partition.
func (s *Store) GroupOffsets(group string) []OffsetCommit {
	s.mu.RLock()
	out := make([]OffsetCommit, 0, len(s.offsets[group]))
	for _, o := range s.offsets[group] {
		out = append(out, o)
	}
	s.mu.RUnlock()
	sortOffsets(out)
	return out
}

func sortOffsets(l []OffsetCommit) {
	slices.SortFunc(l, func(a, b OffsetCommit) int {
		return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
}

// DeleteOffsets removes committed offsets of a group (unknown ones are ignored).
func (s *Store) DeleteOffsets(ctx context.Context, group string, tps []TopicPartition) error {
	if err := checkGroupName(group); err != nil {
		return err
	}
	if len(tps) == 0 {
		return nil
	}
	res, err := s.propose(ctx, kindDeleteOffsets, &deleteOffsetsCmd{Group: group, Partitions: tps})
	if err != nil {
		return err
	}
	return res.err
}

func (s *Store) applyDeleteOffsets(c deleteOffsetsCmd) applyResult {
	if err := checkGroupName(c.Group); err != nil {
		return applyResult{err: err}
	}
	m := s.offsets[c.Group]
	for _, tp := range c.Partitions {
		delete(m, tp)
	}
	if m != nil && len(m) == 0 {
		delete(s.offsets, c.Group)
	}
	return applyResult{}
}

// PutGroup stores (replaces) a group's record.
func (s *Store) PutGroup(ctx context.Context, g GroupRecord) error {
	if err := checkGroupName(g.Name); err != nil {
		return err
	}
	res, err := s.propose(ctx, kindPutGroup, &putGroupCmd{Group: g})
	if err != nil {
		return err
	}
	return res.err
}

func (s *Store) applyPutGroup(c putGroupCmd) applyResult {
	if err := checkGroupName(c.Group.Name); err != nil {
		return applyResult{err: err}
	}
	s.groups[c.Group.Name] = c.Group.clone()
	return applyResult{}
}

// DeleteGroup removes a group's record and all its committed offsets. Deleting
// an unknown group is not an error.
func (s *Store) DeleteGroup(ctx context.Context, group string) error {
	if err := checkGroupName(group); err != nil {
		return err
	}
	res, err := s.propose(ctx, kindDeleteGroup, &deleteGroupCmd{Group: group})
	if err != nil {
		return err
	}
	return res.err
}

func (s *Store) applyDeleteGroup(c deleteGroupCmd) applyResult {
	delete(s.groups, c.Group)
	delete(s.offsets, c.Group)
	return applyResult{}
}

// Group returns a group's record; a group with only committed offsets
// yields a record holding just its name.
func (s *Store) Group(name string) (GroupRecord, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if g, ok := s.groups[name]; ok {
		return g.clone(), true
	}
	if _, ok := s.offsets[name]; ok {
		return GroupRecord{Name: name}, true
	}
	return GroupRecord{}, false
}

// Groups returns every group with a record or committed offsets, sorted by
// name; groups with only offsets have a record holding just their name.
func (s *Store) Groups() []GroupRecord {
	s.mu.RLock()
	out := make([]GroupRecord, 0, len(s.groups)+len(s.offsets))
	for _, g := range s.groups {
		out = append(out, g.clone())
	}
	for name := range s.offsets {
		if _, ok := s.groups[name]; !ok {
			out = append(out, GroupRecord{Name: name})
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b GroupRecord) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// AllocateProducerID returns a producer id never returned before, also
// across restarts (each allocation is a durable command).
func (s *Store) AllocateProducerID(ctx context.Context) (int64, error) {
	res, err := s.propose(ctx, kindAllocProducerID, &allocProducerIDCmd{})
	if err != nil {
		return 0, err
	}
	return res.producerID, res.err
}

func (s *Store) applyAllocProducerID() applyResult {
	id := s.nextPID
	s.nextPID++
	return applyResult{producerID: id}
}
