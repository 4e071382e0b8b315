package kafka

import (
	"context"
	"errors"

	"github.com/chronik-stream/chronik/broker/groups"
	"github.com/chronik-stream/chronik/broker/meta"
	"github.com/chronik-stream/chronik/broker/storage"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Logs is the set of partition logs of this broker; *storage.Manager satisfies it.
type Logs interface {
	Open(topic string, partition int32, cfg storage.LogConfig) (*storage.Log, error)
	Get(topic string, partition int32) (*storage.Log, bool)
	DeleteTopic(topic string) error
}

// PartitionLog is what the protocol handlers use of one partition log; *storage.Log
// satisfies it. Handlers only see this interface so that a replicated log can stand in later.
type PartitionLog interface {
	Append(ctx context.Context, records []byte, opt storage.AppendOptions) (storage.AppendResult, error)
	Read(offset int64, maxBytes int) (storage.ReadResult, error)
	HighWatermark() int64
	LogStartOffset() int64
	Changed() <-chan struct{}
	OffsetForTimestamp(ts int64) (offset int64, timestamp int64, found bool)
	MaxTimestamp() (offset int64, timestamp int64)
	DeleteRecords(before int64) (logStart int64, err error)
	SetConfig(cfg storage.LogConfig)
}

// Metadata is the cluster metadata store; *meta.Store satisfies it.
type Metadata interface {
	CreateTopic(ctx context.Context, name string, partitions int32, rf int16, configs map[string]string) (meta.Topic, error)
	DeleteTopic(ctx context.Context, name string) error
	CreatePartitions(ctx context.Context, name string, total int32) error
	SetTopicConfigs(ctx context.Context, name string, configs map[string]string) error
	Topic(name string) (meta.Topic, bool)
	Topics() []meta.Topic
	AllocateProducerID(ctx context.Context) (int64, error)
}

// Groups is the consumer-group coordinator; *groups.Coordinator satisfies it. Each method
// receives the decoded request (Version set) and returns the response for that version.
type Groups interface {
	JoinGroup(ctx context.Context, r *kmsg.JoinGroupRequest) *kmsg.JoinGroupResponse
	SyncGroup(ctx context.Context, r *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse
	Heartbeat(ctx context.Context, r *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse
	LeaveGroup(ctx context.Context, r *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse
	OffsetCommit(ctx context.Context, r *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse
	OffsetFetch(ctx context.Context, r *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse
	ListGroups(ctx context.Context, r *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse
	DescribeGroups(ctx context.Context, r *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse
	DeleteGroups(ctx context.Context, r *kmsg.DeleteGroupsRequest) *kmsg.DeleteGroupsResponse
	OffsetDelete(ctx context.Context, r *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse
}

// Deps are the collaborators of the Server. Logs, Meta and Groups are required; Cluster is
// set in cluster mode only (see Cluster).
type Deps struct {
	Logs    Logs
	Meta    Metadata
	Groups  Groups
	Cluster Cluster
}

func (d Deps) validate() error {
	var errs []error
	if d.Logs == nil {
		errs = append(errs, errors.New("deps: logs is nil"))
	}
	if d.Meta == nil {
		errs = append(errs, errors.New("deps: meta is nil"))
	}
	if d.Groups == nil {
		errs = append(errs, errors.New("deps: groups is nil"))
	}
	return errors.Join(errs...)
}

// The concrete packages must keep satisfying these interfaces.
var (
	_ Logs         = (*storage.Manager)(nil)
	_ PartitionLog = (*storage.Log)(nil)
	_ Metadata     = (*meta.Store)(nil)
	_ Groups       = (*groups.Coordinator)(nil)
)
