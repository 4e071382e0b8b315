package groups

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/chronik-stream/chronik/broker/meta"
)

// fakeStore is an in-memory Store. fail, when set, makes every mutation fail.
type fakeStore struct {
	mu      sync.Mutex
	groups  map[string]meta.GroupRecord
	offsets map[string]map[meta.TopicPartition]meta.OffsetCommit
	fail    error
	puts    int
}

var errInjected = errors.New("injected store failure")

func newFakeStore() *fakeStore {
	return &fakeStore{
		groups:  make(map[string]meta.GroupRecord),
		offsets: make(map[string]map[meta.TopicPartition]meta.OffsetCommit),
	}
}

func (s *fakeStore) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

func (s *fakeStore) CommitOffsets(_ context.Context, group string, offs []meta.OffsetCommit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	m := s.offsets[group]
	if m == nil {
		m = make(map[meta.TopicPartition]meta.OffsetCommit)
		s.offsets[group] = m
	}
	for _, o := range offs {
		m[meta.TopicPartition{Topic: o.Topic, Partition: o.Partition}] = o
	}
	return nil
}

func (s *fakeStore) FetchOffset(group, topic string, partition int32) (meta.OffsetCommit, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.offsets[group][meta.TopicPartition{Topic: topic, Partition: partition}]
	return o, ok
}

func (s *fakeStore) GroupOffsets(group string) []meta.OffsetCommit {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []meta.OffsetCommit
	for _, o := range s.offsets[group] {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b meta.OffsetCommit) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out
}

func (s *fakeStore) DeleteOffsets(_ context.Context, group string, tps []meta.TopicPartition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	for _, tp := range tps {
		delete(s.offsets[group], tp)
	}
	if len(s.offsets[group]) == 0 {
		delete(s.offsets, group)
	}
	return nil
}

func (s *fakeStore) PutGroup(_ context.Context, g meta.GroupRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.puts++
	g.Members = slices.Clone(g.Members)
	for i := range g.Members {
		g.Members[i].ProtocolMetadata = bytes.Clone(g.Members[i].ProtocolMetadata)
		g.Members[i].Assignment = bytes.Clone(g.Members[i].Assignment)
	}
	s.groups[g.Name] = g
	return nil
}

func (s *fakeStore) DeleteGroup(_ context.Context, group string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	delete(s.groups, group)
	delete(s.offsets, group)
	return nil
}

func (s *fakeStore) Groups() []meta.GroupRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []meta.GroupRecord
	for _, g := range s.groups {
		out = append(out, g)
	}
	for name := range s.offsets {
		if _, ok := s.groups[name]; !ok {
			out = append(out, meta.GroupRecord{Name: name})
		}
	}
	slices.SortFunc(out, func(a, b meta.GroupRecord) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func (s *fakeStore) group(name string) (meta.GroupRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[name]
	return g, ok
}
