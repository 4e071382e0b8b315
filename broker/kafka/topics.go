package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/chronik-stream/chronik/broker/meta"
	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/chronik-stream/chronik/walcodec"
	"github.com/twmb/franz-go/pkg/kerr"
)

// maxTopicNameLen is Kafka's limit on topic name length.
const maxTopicNameLen = 249

// topicManager keeps meta and the partition logs in step: every topic creation, deletion,
// partition growth and config change goes through it. Mutations are serialized.
type topicManager struct {
	cfg     Config
	meta    Metadata
	logs    Logs
	configs *configTable
	logger  *slog.Logger
	cluster Cluster // nil in standalone

	mu sync.Mutex // serializes mutations (check-then-act on meta + logs)
}

// brokers is the number of brokers replicas can be placed on.
func (t *topicManager) brokers() int16 {
	if t.cluster != nil {
		return int16(min(max(len(t.cluster.Brokers()), 1), 32767))
	}
	return 1
}

// sync makes this node's metadata include every change committed in the cluster before a
// check-then-act on it (cluster mode; best effort).
func (t *topicManager) sync(ctx context.Context) {
	if t.cluster == nil {
		return
	}
	if err := t.cluster.SyncMetadata(ctx); err != nil {
		t.logger.Debug("metadata sync failed; using local state", "err", err)
	}
}

// validateTopicName checks Kafka's topic naming rules.
func validateTopicName(name string) error {
	switch {
	case name == "":
		return errorf(kerr.InvalidTopicException, "topic name is empty")
	case name == "." || name == "..":
		return errorf(kerr.InvalidTopicException, "topic name cannot be %q", name)
	case len(name) > maxTopicNameLen:
		return errorf(kerr.InvalidTopicException, "topic name %q is longer than %d characters", name, maxTopicNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return errorf(kerr.InvalidTopicException, "topic name %q contains %q: only ASCII alphanumerics, '.', '_' and '-' are legal", name, c)
		}
	}
	return nil
}

// logConfig builds the storage config of a partition of a topic with the given configs.
func (t *topicManager) logConfig(configs map[string]string) storage.LogConfig {
	lc := storage.DefaultLogConfig()
	lc.Format = t.cfg.WALFormat
	lc.RecordType = walcodec.RecordData
	if t.cfg.SegmentBytes != 0 {
		lc.SegmentBytes = t.cfg.SegmentBytes
	}
	if t.cfg.SegmentMs != 0 {
		lc.SegmentMs = t.cfg.SegmentMs
	}
	if t.cfg.RetentionMs != 0 {
		lc.RetentionMs = t.cfg.RetentionMs
	}
	if t.cfg.RetentionBytes != 0 {
		lc.RetentionBytes = t.cfg.RetentionBytes
	}
	lc.SegmentBytes = intConfig(configs, cfgSegmentBytes, lc.SegmentBytes)
	lc.SegmentMs = intConfig(configs, cfgSegmentMs, lc.SegmentMs)
	lc.RetentionMs = intConfig(configs, cfgRetentionMs, lc.RetentionMs)
	lc.RetentionBytes = intConfig(configs, cfgRetentionBytes, lc.RetentionBytes)
	return lc
}

// maxMessageBytes is the largest batch a topic accepts.
func (t *topicManager) maxMessageBytes(tp meta.Topic) int64 {
	return intConfig(tp.Configs, cfgMaxMessageBytes, defaultMaxMessageBytes)
}

// partition returns the log of topic/partition, opening it when meta knows the partition
// but the log is not open yet (a topic created concurrently, or by another node's command).
// A partition meta does not know answers UNKNOWN_TOPIC_OR_PARTITION.
func (t *topicManager) partition(topic string, partition int32) (PartitionLog, error) {
	if t.cluster != nil {
		tp, ok := t.meta.Topic(topic)
		if !ok || partition < 0 || partition >= tp.Partitions {
			return nil, kerr.UnknownTopicOrPartition
		}
		return t.cluster.Log(tp.Name, partition)
	}
	if l, ok := t.logs.Get(topic, partition); ok {
		return l, nil
	}
	tp, ok := t.meta.Topic(topic)
	if !ok || partition < 0 || partition >= tp.Partitions {
		return nil, kerr.UnknownTopicOrPartition
	}
	// tp.Name, not topic: the request's string may alias the request buffer.
	l, err := t.logs.Open(tp.Name, partition, t.logConfig(tp.Configs))
	if err != nil {
		t.logger.Error("opening partition log", "topic", tp.Name, "partition", partition, "err", err)
		return nil, fmt.Errorf("open topic %s partition %d: %w: %w", tp.Name, partition, kerr.KafkaStorageError, err)
	}
	return l, nil
}

// openTopic opens the logs of every partition of tp (standalone; in a cluster the data groups
// open the logs of their replicas).
func (t *topicManager) openTopic(tp meta.Topic) error {
	if t.cluster != nil {
		return nil
	}
	lc := t.logConfig(tp.Configs)
	var errs []error
	for p := int32(0); p < tp.Partitions; p++ {
		if _, err := t.logs.Open(tp.Name, p, lc); err != nil {
			errs = append(errs, fmt.Errorf("open topic %s partition %d: %w", tp.Name, p, err))
		}
	}
	return errors.Join(errs...)
}

// openAll opens the logs of every topic in meta (startup).
func (t *topicManager) openAll() error {
	var errs []error
	for _, tp := range t.meta.Topics() {
		if err := t.openTopic(tp); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// createRequest is a validated topic creation.
type createRequest struct {
	name       string
	partitions int32 // -1 = default
	rf         int16 // -1 = default
	configs    map[string]string
}

// resolve applies defaults and validates everything but existence.
func (t *topicManager) resolve(r *createRequest) error {
	if err := validateTopicName(r.name); err != nil {
		return err
	}
	if r.partitions == -1 {
		r.partitions = t.cfg.DefaultPartitions
	}
	if r.rf == -1 {
		r.rf = t.cfg.DefaultReplicationFactor
		if t.cluster != nil {
			r.rf = min(r.rf, t.brokers())
		}
	}
	if r.partitions < 1 {
		return errorf(kerr.InvalidPartitions, "number of partitions must be larger than 0, got %d", r.partitions)
	}
	if r.rf < 1 {
		return errorf(kerr.InvalidReplicationFactor, "replication factor must be larger than 0, got %d", r.rf)
	}
	if r.rf > t.brokers() {
		return errorf(kerr.InvalidReplicationFactor, "replication factor: %d larger than available brokers: %d", r.rf, t.brokers())
	}
	return t.configs.validateAll(r.configs)
}

// create validates and (unless validateOnly) creates a topic and opens its logs.
func (t *topicManager) create(ctx context.Context, r createRequest, validateOnly bool) (meta.Topic, error) {
	if err := t.resolve(&r); err != nil {
		return meta.Topic{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sync(ctx)
	if _, ok := t.meta.Topic(r.name); ok {
		return meta.Topic{}, errorf(kerr.TopicAlreadyExists, "topic '%s' already exists", r.name)
	}
	if validateOnly {
		return meta.Topic{Name: r.name, Partitions: r.partitions, ReplicationFactor: r.rf, Configs: r.configs}, nil
	}
	tp, err := t.meta.CreateTopic(ctx, r.name, r.partitions, r.rf, r.configs)
	if err != nil {
		return meta.Topic{}, fmt.Errorf("create topic %s: %w", r.name, err)
	}
	if err := t.openTopic(tp); err != nil {
		return tp, fmt.Errorf("%w: %w", kerr.KafkaStorageError, err)
	}
	t.logger.Info("topic created", "topic", tp.Name, "partitions", tp.Partitions, "replication_factor", tp.ReplicationFactor)
	return tp, nil
}

// delete removes a topic from meta, then its logs.
func (t *topicManager) delete(ctx context.Context, name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sync(ctx)
	if _, ok := t.meta.Topic(name); !ok {
		return errorf(kerr.UnknownTopicOrPartition, "topic '%s' does not exist", name)
	}
	if err := t.meta.DeleteTopic(ctx, name); err != nil {
		return fmt.Errorf("delete topic %s: %w", name, err)
	}
	if t.cluster != nil {
		// Every node removes its replicas when it applies the metadata change.
		t.logger.Info("topic deleted", "topic", name)
		return nil
	}
	if err := t.logs.DeleteTopic(name); err != nil {
		// The topic is gone from meta; leftover files do not change what clients see.
		t.logger.Error("deleting topic logs", "topic", name, "err", err)
	}
	t.logger.Info("topic deleted", "topic", name)
	return nil
}

// addPartitions grows a topic to total partitions and opens the new logs.
func (t *topicManager) addPartitions(ctx context.Context, name string, total int32, validateOnly bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sync(ctx)
	tp, ok := t.meta.Topic(name)
	if !ok {
		return errorf(kerr.UnknownTopicOrPartition, "topic '%s' does not exist", name)
	}
	switch {
	case total == tp.Partitions:
		return errorf(kerr.InvalidPartitions, "topic already has %d partitions", tp.Partitions)
	case total < tp.Partitions:
		return errorf(kerr.InvalidPartitions, "topic currently has %d partitions, which is higher than the requested %d", tp.Partitions, total)
	}
	if validateOnly {
		return nil
	}
	if err := t.meta.CreatePartitions(ctx, name, total); err != nil {
		return fmt.Errorf("create partitions of topic %s: %w", name, err)
	}
	if t.cluster != nil {
		t.logger.Info("partitions created", "topic", name, "partitions", total)
		return nil
	}
	lc := t.logConfig(tp.Configs)
	var errs []error
	for p := tp.Partitions; p < total; p++ {
		if _, err := t.logs.Open(tp.Name, p, lc); err != nil {
			errs = append(errs, fmt.Errorf("open topic %s partition %d: %w", tp.Name, p, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", kerr.KafkaStorageError, err)
	}
	t.logger.Info("partitions created", "topic", name, "partitions", total)
	return nil
}

// setConfigs replaces the configs of a topic (after validating them) and applies the log
// settings to its open partitions. mutate receives a copy of the current configs and
// returns the new set, so read-modify-write happens under the lock.
func (t *topicManager) setConfigs(ctx context.Context, name string, validateOnly bool, mutate func(cur map[string]string) (map[string]string, error)) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sync(ctx)
	tp, ok := t.meta.Topic(name)
	if !ok {
		return errorf(kerr.UnknownTopicOrPartition, "topic '%s' does not exist", name)
	}
	cur := make(map[string]string, len(tp.Configs))
	for k, v := range tp.Configs {
		cur[k] = v
	}
	next, err := mutate(cur)
	if err != nil {
		return err
	}
	if err := t.configs.validateAll(next); err != nil {
		return err
	}
	if validateOnly {
		return nil
	}
	if err := t.meta.SetTopicConfigs(ctx, name, next); err != nil {
		return fmt.Errorf("set configs of topic %s: %w", name, err)
	}
	if t.cluster != nil {
		// Every replica applies the new settings when it applies the metadata change.
		t.logger.Info("topic configs changed", "topic", name)
		return nil
	}
	lc := t.logConfig(next)
	for p := int32(0); p < tp.Partitions; p++ {
		if l, ok := t.logs.Get(tp.Name, p); ok {
			l.SetConfig(lc)
		}
	}
	t.logger.Info("topic configs changed", "topic", name)
	return nil
}
