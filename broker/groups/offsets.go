package groups

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-stream/chronik/broker/meta"
)

// OffsetCommit handles OffsetCommit v0–v7. Generation -1 (every v0 request) is a simple
// commit, accepted while the group is Empty or unknown (the group is
// then created and listed as Empty, e.g. for kcat). Other commits must come from a current
// member of the current generation. Partitions rejected by Config.TopicExists get
// UNKNOWN_TOPIC_OR_PARTITION; the rest are durable in the store before the answer.
func (c *Coordinator) OffsetCommit(ctx context.Context, r *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
	codes := make([][]int16, len(r.Topics))
	for i, t := range r.Topics {
		codes[i] = make([]int16, len(t.Partitions))
	}
	setAll := func(code int16) {
		for i := range codes {
			for j := range codes[i] {
				codes[i][j] = code
			}
		}
	}
	if code := c.commit(ctx, r, codes); code != 0 {
		setAll(code)
	}
	for i, t := range r.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for j, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = codes[i][j]
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// commit validates and stores r; a non-zero return applies to every partition, otherwise
// codes holds per-partition errors.
func (c *Coordinator) commit(ctx context.Context, r *kmsg.OffsetCommitRequest, codes [][]int16) int16 {
	generation, memberID := r.Generation, r.MemberID
	if r.Version == 0 {
		generation, memberID = -1, ""
	}
	switch {
	case c.isClosed():
		return kerr.NotCoordinator.Code
	case r.Group == "":
		return kerr.InvalidGroupID.Code
	}
	g := c.lockLive(r.Group, generation < 0)
	if g == nil {
		return kerr.IllegalGeneration.Code // Kafka: a member commit for a group we do not know
	}
	defer g.mu.Unlock()
	defer c.maybeDropLocked(g) // a rejected first commit must not leave a phantom group

	if g.fenced(r.InstanceID, memberID) {
		return kerr.FencedInstanceID.Code
	}
	var m *member
	if !(generation < 0 && g.state == stateEmpty) {
		var ok bool
		m, ok = g.members[memberID]
		switch {
		case g.state == stateCompletingRebalance:
			return kerr.RebalanceInProgress.Code
		case !ok:
			return kerr.UnknownMemberID.Code
		case generation != g.generation:
			return kerr.IllegalGeneration.Code
		}
		c.heartbeatLocked(g, m)
	}

	nowMs := time.Now().UnixMilli()
	var offs []meta.OffsetCommit
	type pos struct{ t, p int }
	var where []pos
	for i, t := range r.Topics {
		for j, p := range t.Partitions {
			md := ""
			if p.Metadata != nil {
				md = *p.Metadata
			}
			switch {
			case c.cfg.TopicExists != nil && !c.cfg.TopicExists(t.Topic, p.Partition):
				codes[i][j] = kerr.UnknownTopicOrPartition.Code
				continue
			case len(md) > maxOffsetMetadataBytes:
				codes[i][j] = kerr.OffsetMetadataTooLarge.Code
				continue
			}
			epoch := p.LeaderEpoch
			if r.Version < 6 {
				epoch = -1
			}
			offs = append(offs, meta.OffsetCommit{
				Topic: t.Topic, Partition: p.Partition, Offset: p.Offset,
				LeaderEpoch: epoch, Metadata: md, CommitTimeMs: nowMs,
			})
			where = append(where, pos{i, j})
		}
	}
	if len(offs) == 0 {
		return 0
	}
	if err := c.store.CommitOffsets(ctx, g.name, offs); err != nil {
		c.log.Error("committing offsets failed", "group", g.name, "partitions", len(offs), "err", err)
		for _, w := range where {
			codes[w.t][w.p] = storeErrCode(err)
		}
	}
	return 0
}

// storeErrCode maps a store failure to a Kafka error: the store's own Kafka error if it carries
// one, else the retriable COORDINATOR_NOT_AVAILABLE.
func storeErrCode(err error) int16 {
	if ke := (*kerr.Error)(nil); errors.As(err, &ke) {
		return ke.Code
	}
	return kerr.CoordinatorNotAvailable.Code
}

// OffsetFetch handles OffsetFetch v0–v7. Partitions without a committed offset answer offset
// -1; null topics (v2+) return every committed offset of the group. RequireStable (v7) is
// ignored: there are no transactional offsets.
func (c *Coordinator) OffsetFetch(_ context.Context, r *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse {
	resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
	if c.isClosed() {
		resp.ErrorCode = kerr.NotCoordinator.Code
		for _, t := range r.Topics { // v0–v1 carry the error per partition only
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseTopicPartition()
				rp.Partition = p
				rp.Offset = -1
				rp.ErrorCode = kerr.NotCoordinator.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}
	partition := func(p int32, oc meta.OffsetCommit, ok bool) kmsg.OffsetFetchResponseTopicPartition {
		rp := kmsg.NewOffsetFetchResponseTopicPartition()
		rp.Partition = p
		rp.Offset = -1
		rp.Metadata = kmsg.StringPtr("")
		if ok {
			rp.Offset = oc.Offset
			rp.LeaderEpoch = oc.LeaderEpoch
			rp.Metadata = kmsg.StringPtr(oc.Metadata)
		}
		return rp
	}
	if r.Topics == nil {
		for _, oc := range c.store.GroupOffsets(r.Group) {
			if n := len(resp.Topics); n == 0 || resp.Topics[n-1].Topic != oc.Topic {
				rt := kmsg.NewOffsetFetchResponseTopic()
				rt.Topic = oc.Topic
				resp.Topics = append(resp.Topics, rt)
			}
			rt := &resp.Topics[len(resp.Topics)-1]
			rt.Partitions = append(rt.Partitions, partition(oc.Partition, oc, true))
		}
		return resp
	}
	for _, t := range r.Topics {
		rt := kmsg.NewOffsetFetchResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			oc, ok := c.store.FetchOffset(r.Group, t.Topic, p)
			rt.Partitions = append(rt.Partitions, partition(p, oc, ok))
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// OffsetDelete handles OffsetDelete v0. An Empty group loses the requested offsets; a
// non-empty consumer group only those of topics none of its members subscribes to
// (GROUP_SUBSCRIBED_TO_TOPIC for the others); other non-empty groups answer NON_EMPTY_GROUP.
func (c *Coordinator) OffsetDelete(ctx context.Context, r *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse {
	resp := r.ResponseKind().(*kmsg.OffsetDeleteResponse)
	switch {
	case c.isClosed():
		resp.ErrorCode = kerr.NotCoordinator.Code
		return resp
	case r.Group == "":
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp
	}
	g := c.lockLive(r.Group, false)
	if g == nil {
		resp.ErrorCode = kerr.GroupIDNotFound.Code
		return resp
	}
	defer g.mu.Unlock()

	var subscribed map[string]bool
	known := true
	if g.state != stateEmpty {
		if g.protocolType != "consumer" {
			resp.ErrorCode = kerr.NonEmptyGroup.Code
			return resp
		}
		subscribed, known = g.subscribedTopics()
	}
	var tps []meta.TopicPartition
	for _, t := range r.Topics {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			if g.state != stateEmpty && (!known || subscribed[t.Topic]) {
				rp.ErrorCode = kerr.GroupSubscribedToTopic.Code
			} else {
				tps = append(tps, meta.TopicPartition{Topic: t.Topic, Partition: p.Partition})
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if len(tps) > 0 {
		if err := c.store.DeleteOffsets(ctx, g.name, tps); err != nil {
			c.log.Error("deleting offsets failed", "group", g.name, "partitions", len(tps), "err", err)
			resp.ErrorCode = storeErrCode(err)
			resp.Topics = nil
		}
	}
	return resp
}
