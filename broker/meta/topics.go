package meta

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Topic is one topic's metadata.
type Topic struct {
	Name              string
	ID                [16]byte // random UUID v4, fixed at creation
	Partitions        int32
	ReplicationFactor int16
	Configs           map[string]string // topic-level overrides, validated by the kafka layer
}

func (t Topic) clone() Topic {
	t.Configs = cloneConfigs(t.Configs)
	return t
}

func cloneConfigs(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

// metaTopicName is the directory of the metadata log under <data_dir>/wal; a
// topic of that name would share it.
const metaTopicName = "__meta"

// checkTopicName rejects names that are empty or would escape or collide
// with the storage layout. Kafka's full naming rules are the kafka layer's job.
func checkTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty topic name: %w", kerr.InvalidTopicException)
	case name == "." || name == ".." || name == metaTopicName || strings.ContainsAny(name, "/\\\x00"):
		return fmt.Errorf("topic %q: name not allowed: %w", name, kerr.InvalidTopicException)
	}
	return nil
}

func newTopicID() [16]byte {
	var id [16]byte
	_, _ = rand.Read(id[:])   // crypto/rand.Read never fails (Go ≥ 1.24)
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id
}

// CreateTopic creates a topic with a new random id. Errors wrap
// kerr.TopicAlreadyExists, kerr.InvalidTopicException,
// kerr.InvalidPartitions or kerr.InvalidReplicationFactor.
func (s *Store) CreateTopic(ctx context.Context, name string, partitions int32, rf int16, configs map[string]string) (Topic, error) {
	c := &createTopicCmd{Name: name, ID: formatUUID(newTopicID()), Partitions: partitions, ReplicationFactor: rf, Configs: configs}
	s.mu.RLock()
	err := checkCreateTopic(s.topics, c)
	s.mu.RUnlock()
	if err != nil {
		return Topic{}, err
	}
	res, err := s.propose(ctx, kindCreateTopic, c)
	if err != nil {
		return Topic{}, err
	}
	return res.topic, res.err
}

func checkCreateTopic(topics map[string]Topic, c *createTopicCmd) error {
	if err := checkTopicName(c.Name); err != nil {
		return err
	}
	if _, ok := topics[c.Name]; ok {
		return fmt.Errorf("topic %q: %w", c.Name, kerr.TopicAlreadyExists)
	}
	if c.Partitions < 1 {
		return fmt.Errorf("topic %q: %d partitions: %w", c.Name, c.Partitions, kerr.InvalidPartitions)
	}
	if c.ReplicationFactor < 1 {
		return fmt.Errorf("topic %q: replication factor %d: %w", c.Name, c.ReplicationFactor, kerr.InvalidReplicationFactor)
	}
	return nil
}

func (s *Store) applyCreateTopic(c createTopicCmd) applyResult {
	if err := checkCreateTopic(s.topics, &c); err != nil {
		return applyResult{err: err}
	}
	id, err := parseUUID(c.ID)
	if err != nil {
		return applyResult{err: fmt.Errorf("topic %q: %w: %w", c.Name, err, kerr.InvalidTopicException)}
	}
	t := Topic{Name: c.Name, ID: id, Partitions: c.Partitions, ReplicationFactor: c.ReplicationFactor, Configs: cloneConfigs(c.Configs)}
	s.topics[c.Name] = t
	return applyResult{topic: t.clone()}
}

// DeleteTopic removes a topic and every committed offset of it. Errors wrap
// kerr.UnknownTopicOrPartition.
func (s *Store) DeleteTopic(ctx context.Context, name string) error {
	if _, ok := s.Topic(name); !ok {
		return fmt.Errorf("topic %q: %w", name, kerr.UnknownTopicOrPartition)
	}
	res, err := s.propose(ctx, kindDeleteTopic, &deleteTopicCmd{Name: name})
	if err != nil {
		return err
	}
	return res.err
}

func (s *Store) applyDeleteTopic(c deleteTopicCmd) applyResult {
	if _, ok := s.topics[c.Name]; !ok {
		return applyResult{err: fmt.Errorf("topic %q: %w", c.Name, kerr.UnknownTopicOrPartition)}
	}
	delete(s.topics, c.Name)
	for g, offs := range s.offsets {
		for tp := range offs {
			if tp.Topic == c.Name {
				delete(offs, tp)
			}
		}
		if len(offs) == 0 {
			delete(s.offsets, g)
		}
	}
	return applyResult{}
}

// CreatePartitions raises a topic's partition count to total. Errors wrap
// kerr.UnknownTopicOrPartition or kerr.InvalidPartitions (total not larger).
func (s *Store) CreatePartitions(ctx context.Context, name string, total int32) error {
	c := createPartitionsCmd{Name: name, Total: total}
	s.mu.RLock()
	err := checkCreatePartitions(s.topics, c)
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	res, err := s.propose(ctx, kindCreatePartitions, &c)
	if err != nil {
		return err
	}
	return res.err
}

func checkCreatePartitions(topics map[string]Topic, c createPartitionsCmd) error {
	t, ok := topics[c.Name]
	if !ok {
		return fmt.Errorf("topic %q: %w", c.Name, kerr.UnknownTopicOrPartition)
	}
	if c.Total <= t.Partitions {
		return fmt.Errorf("topic %q: has %d partitions, cannot change to %d: %w", c.Name, t.Partitions, c.Total, kerr.InvalidPartitions)
	}
	return nil
}

func (s *Store) applyCreatePartitions(c createPartitionsCmd) applyResult {
	if err := checkCreatePartitions(s.topics, c); err != nil {
		return applyResult{err: err}
	}
	t := s.topics[c.Name]
	t.Partitions = c.Total
	s.topics[c.Name] = t
	return applyResult{topic: t.clone()}
}

// SetTopicConfigs replaces a topic's configs. Errors wrap kerr.UnknownTopicOrPartition.
func (s *Store) SetTopicConfigs(ctx context.Context, name string, configs map[string]string) error {
	if _, ok := s.Topic(name); !ok {
		return fmt.Errorf("topic %q: %w", name, kerr.UnknownTopicOrPartition)
	}
	res, err := s.propose(ctx, kindSetTopicConfigs, &setTopicConfigsCmd{Name: name, Configs: configs})
	if err != nil {
		return err
	}
	return res.err
}

func (s *Store) applySetTopicConfigs(c setTopicConfigsCmd) applyResult {
	t, ok := s.topics[c.Name]
	if !ok {
		return applyResult{err: fmt.Errorf("topic %q: %w", c.Name, kerr.UnknownTopicOrPartition)}
	}
	t.Configs = cloneConfigs(c.Configs)
	s.topics[c.Name] = t
	return applyResult{topic: t.clone()}
}

// Topic returns a copy of a topic's metadata.
func (s *Store) Topic(name string) (Topic, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.topics[name]
	if !ok {
		return Topic{}, false
	}
	return t.clone(), true
}

// TopicByID finds a topic by its id.
func (s *Store) TopicByID(id [16]byte) (Topic, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, t := range s.topics {
		if t.ID == id {
			return t.clone(), true
		}
	}
	return Topic{}, false
}

// Topics returns copies of all topics, sorted by name.
func (s *Store) Topics() []Topic {
	s.mu.RLock()
	out := make([]Topic, 0, len(s.topics))
	for _, t := range s.topics {
		out = append(out, t.clone())
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Topic) int { return strings.Compare(a.Name, b.Name) })
	return out
}
