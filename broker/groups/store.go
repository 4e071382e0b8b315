package groups

import (
	"context"

	"github.com/chronik-stream/chronik/broker/meta"
)

// Store is the durable state the coordinator needs; *meta.Store satisfies it. Mutations must
// be durable when they return; reads must be safe concurrently with mutations.
type Store interface {
	CommitOffsets(ctx context.Context, group string, offs []meta.OffsetCommit) error
	FetchOffset(group, topic string, partition int32) (meta.OffsetCommit, bool)
	GroupOffsets(group string) []meta.OffsetCommit // sorted by topic, partition
	DeleteOffsets(ctx context.Context, group string, tps []meta.TopicPartition) error
	PutGroup(ctx context.Context, g meta.GroupRecord) error
	DeleteGroup(ctx context.Context, group string) error // removes the record and its offsets
	Groups() []meta.GroupRecord                          // every group with a record or offsets
}
