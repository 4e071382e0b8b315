package groups

import "time"

// Config tunes the coordinator. Zero session bounds select Kafka's defaults.
type Config struct {
	// MinSessionTimeoutMs and MaxSessionTimeoutMs bound a member's session timeout
	// (group.min.session.timeout.ms / group.max.session.timeout.ms); JoinGroup outside
	// them fails with INVALID_SESSION_TIMEOUT. Defaults 6000 and 1800000.
	MinSessionTimeoutMs, MaxSessionTimeoutMs int32
	// InitialRebalanceDelayMs delays the first rebalance of an empty group so that members
	// starting together land in one generation (group.initial.rebalance.delay.ms). Each
	// member joining during the delay extends it, up to the rebalance timeout. 0 = none.
	InitialRebalanceDelayMs int32
	// TopicExists reports whether a partition exists; OffsetCommit answers
	// UNKNOWN_TOPIC_OR_PARTITION for partitions it rejects. nil accepts every partition.
	TopicExists func(topic string, partition int32) bool
}

const (
	defaultMinSessionTimeoutMs = 6000
	defaultMaxSessionTimeoutMs = 1800000
	// maxOffsetMetadataBytes is Kafka's offset.metadata.max.bytes default.
	maxOffsetMetadataBytes = 4096
)

func (c Config) withDefaults() Config {
	if c.MinSessionTimeoutMs <= 0 {
		c.MinSessionTimeoutMs = defaultMinSessionTimeoutMs
	}
	if c.MaxSessionTimeoutMs <= 0 {
		c.MaxSessionTimeoutMs = defaultMaxSessionTimeoutMs
	}
	if c.InitialRebalanceDelayMs < 0 {
		c.InitialRebalanceDelayMs = 0
	}
	return c
}

func (c Config) initialDelay() time.Duration {
	return time.Duration(c.InitialRebalanceDelayMs) * time.Millisecond
}
