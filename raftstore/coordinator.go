package raftstore

import (
	"context"
	"log/slog"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-stream/chronik/broker/groups"
	"github.com/chronik-stream/chronik/broker/meta"
)

// GroupRouter is the consumer-group coordinator of a cluster node (kafka.Groups): the metadata
// leader coordinates every group (FindCoordinator names it), so a coordinator runs only while
// this node leads the metadata group. It is created when leadership is gained — after a Raft
// barrier, so it recovers the groups from an up-to-date store — and closed when it is lost; in
// between, and on every other node, calls are answered by a closed coordinator: NOT_COORDINATOR
// (COORDINATOR_NOT_AVAILABLE for ListGroups), and clients look the coordinator up again.
type GroupRouter struct {
	cfg    groups.Config
	store  *meta.Store
	logger *slog.Logger
	closed *groups.Coordinator // permanently closed: answers NOT_COORDINATOR

	mu     sync.RWMutex
	cur    *groups.Coordinator
	cancel context.CancelFunc
	done   chan struct{}
	final  bool
}

func newGroupRouter(cfg groups.Config, store *meta.Store, logger *slog.Logger) *GroupRouter {
	closed := groups.NewCoordinator(cfg, emptyGroupStore{}, nil, nil)
	closed.Close()
	return &GroupRouter{cfg: cfg, store: store, logger: logger, closed: closed}
}

// start runs a fresh coordinator (this node became the metadata leader).
func (r *GroupRouter) start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur != nil || r.final {
		return
	}
	c := groups.NewCoordinator(r.cfg, r.store, r.logger, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	r.cur, r.cancel, r.done = c, cancel, done
}

// stop closes the running coordinator (leadership lost): blocked JoinGroup/SyncGroup calls
// answer NOT_COORDINATOR.
func (r *GroupRouter) stop() {
	r.mu.Lock()
	c, cancel, done := r.cur, r.cancel, r.done
	r.cur, r.cancel, r.done = nil, nil, nil
	r.mu.Unlock()
	if c == nil {
		return
	}
	c.Close()
	cancel()
	<-done
}

// close stops the coordinator for good (node shutdown).
func (r *GroupRouter) close() {
	r.mu.Lock()
	r.final = true
	r.mu.Unlock()
	r.stop()
}

func (r *GroupRouter) coordinator() *groups.Coordinator {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.cur != nil {
		return r.cur
	}
	return r.closed
}

// GroupCount counts the groups of the running coordinator by state (empty on non-leaders).
func (r *GroupRouter) GroupCount() map[string]int { return r.coordinator().GroupCount() }

func (r *GroupRouter) JoinGroup(ctx context.Context, q *kmsg.JoinGroupRequest) *kmsg.JoinGroupResponse {
	return r.coordinator().JoinGroup(ctx, q)
}

func (r *GroupRouter) SyncGroup(ctx context.Context, q *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse {
	return r.coordinator().SyncGroup(ctx, q)
}

func (r *GroupRouter) Heartbeat(ctx context.Context, q *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	return r.coordinator().Heartbeat(ctx, q)
}

func (r *GroupRouter) LeaveGroup(ctx context.Context, q *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	return r.coordinator().LeaveGroup(ctx, q)
}

func (r *GroupRouter) OffsetCommit(ctx context.Context, q *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	return r.coordinator().OffsetCommit(ctx, q)
}

func (r *GroupRouter) OffsetFetch(ctx context.Context, q *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse {
	return r.coordinator().OffsetFetch(ctx, q)
}

// ListGroups on a node that coordinates nothing answers an empty list: admin clients ask every
// broker and merge the answers.
func (r *GroupRouter) ListGroups(ctx context.Context, q *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse {
	c := r.coordinator()
	if c == r.closed {
		resp := q.ResponseKind().(*kmsg.ListGroupsResponse)
		resp.Version = q.Version
		resp.Groups = []kmsg.ListGroupsResponseGroup{}
		return resp
	}
	return c.ListGroups(ctx, q)
}

func (r *GroupRouter) DescribeGroups(ctx context.Context, q *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse {
	return r.coordinator().DescribeGroups(ctx, q)
}

func (r *GroupRouter) DeleteGroups(ctx context.Context, q *kmsg.DeleteGroupsRequest) *kmsg.DeleteGroupsResponse {
	return r.coordinator().DeleteGroups(ctx, q)
}

func (r *GroupRouter) OffsetDelete(ctx context.Context, q *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse {
	return r.coordinator().OffsetDelete(ctx, q)
}

// emptyGroupStore backs the closed coordinator, which never reads or writes it.
type emptyGroupStore struct{}

func (emptyGroupStore) CommitOffsets(context.Context, string, []meta.OffsetCommit) error { return nil }
func (emptyGroupStore) FetchOffset(string, string, int32) (meta.OffsetCommit, bool) {
	return meta.OffsetCommit{}, false
}
func (emptyGroupStore) GroupOffsets(string) []meta.OffsetCommit { return nil }
func (emptyGroupStore) DeleteOffsets(context.Context, string, []meta.TopicPartition) error {
	return nil
}
func (emptyGroupStore) PutGroup(context.Context, meta.GroupRecord) error { return nil }
func (emptyGroupStore) DeleteGroup(context.Context, string) error        { return nil }
func (emptyGroupStore) Groups() []meta.GroupRecord                       { return nil }

// Groups is the node's consumer-group coordinator for the Kafka server (kafka.Groups).
func (n *Node) Groups() *GroupRouter { return n.coord }
