package mirror

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// committed is a group's committed position in one partition.
type committed struct {
	offset   int64
	metadata *string
}

// groupLoop translates and commits consumer-group offsets every GroupSyncInterval.
func (mr *mirror) groupLoop(ctx context.Context, src, dst *kgo.Client) {
	tick := time.NewTicker(mr.cfg.GroupSyncInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		octx, cancel := context.WithTimeout(ctx, opTimeout)
		n, err := mr.syncGroups(octx, src, dst)
		cancel()
		if ctx.Err() != nil {
			return
		}
		mr.mu.Lock()
		prev := mr.groupWarn
		mr.groups, mr.groupWarn = n, ""
		if err != nil {
			mr.groupWarn = err.Error()
		}
		mr.mu.Unlock()
		if err != nil && err.Error() != prev {
			mr.logger.Warn("mirror: group offset sync failed", "source", mr.source, "err", err)
		}
	}
}

// syncGroups commits, on the destination, the translated offsets of every source group in
// the partitions this mirror copies. A group with members on the destination (state not
// Empty or Dead) is left alone, and a committed destination offset is never moved back.
// It returns how many groups had offsets translated.
func (mr *mirror) syncGroups(ctx context.Context, src, dst *kgo.Client) (int, error) {
	lresp, err := kmsg.NewPtrListGroupsRequest().RequestWith(ctx, src)
	if lresp == nil {
		return 0, fmt.Errorf("listing source groups: %w", err)
	}
	var errs []error
	if err != nil {
		errs = append(errs, fmt.Errorf("listing source groups: %w", err))
	}
	var groups []string
	for _, g := range lresp.Groups {
		groups = append(groups, g.Group)
	}
	if len(groups) == 0 {
		return 0, errors.Join(errs...)
	}
	sort.Strings(groups)
	srcOffsets, err := groupOffsets(ctx, src, groups)
	if err != nil {
		errs = append(errs, fmt.Errorf("source %w", err))
	}

	// Translate what this mirror copied.
	plan := make(map[string]map[partKey]committed)
	mr.mu.Lock()
	for g, offs := range srcOffsets {
		for k, c := range offs {
			ps := mr.parts[k]
			if ps == nil || c.offset < 0 {
				continue
			}
			if d, ok := ps.translate(c.offset); ok {
				if plan[g] == nil {
					plan[g] = make(map[partKey]committed)
				}
				plan[g][k] = committed{offset: d, metadata: c.metadata}
			}
		}
	}
	mr.mu.Unlock()
	candidates := make([]string, 0, len(plan))
	for g := range plan {
		candidates = append(candidates, g)
	}
	sort.Strings(candidates)
	if len(candidates) == 0 {
		return 0, errors.Join(errs...)
	}

	states, err := groupStates(ctx, dst, candidates)
	if err != nil {
		return 0, errors.Join(append(errs, fmt.Errorf("destination %w", err))...)
	}
	dstOffsets, err := groupOffsets(ctx, dst, candidates)
	if err != nil {
		return 0, errors.Join(append(errs, fmt.Errorf("destination %w", err))...)
	}
	n := 0
	for _, g := range candidates {
		if st := states[g]; st != "" && st != "Empty" && st != "Dead" {
			mr.logger.Debug("mirror: group has members on the destination; offsets left alone", "group", g, "state", st)
			continue
		}
		n++
		var commit []partKey
		for k, c := range plan[g] {
			if cur, ok := dstOffsets[g][k]; !ok || cur.offset < c.offset {
				commit = append(commit, k)
			}
		}
		if len(commit) == 0 {
			continue
		}
		sortKeys(commit)
		if err := commitOffsets(ctx, dst, g, commit, plan[g]); err != nil {
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// groupOffsets fetches the committed offsets of groups (every topic).
func groupOffsets(ctx context.Context, cl *kgo.Client, groups []string) (map[string]map[partKey]committed, error) {
	req := kmsg.NewPtrOffsetFetchRequest()
	for _, g := range groups {
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = g
		req.Groups = append(req.Groups, rg)
	}
	resp, err := req.RequestWith(ctx, cl)
	if resp == nil {
		return nil, fmt.Errorf("fetching offsets of groups %v: %w", groups, err)
	}
	var errs []error
	if err != nil {
		errs = append(errs, fmt.Errorf("fetching offsets of groups %v: %w", groups, err))
	}
	out := make(map[string]map[partKey]committed, len(resp.Groups))
	for _, g := range resp.Groups {
		if err := kerr.ErrorForCode(g.ErrorCode); err != nil {
			errs = append(errs, fmt.Errorf("fetching offsets of group %s: %w", g.Group, err))
			continue
		}
		m := make(map[partKey]committed)
		for _, t := range g.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 {
					continue
				}
				m[partKey{t.Topic, p.Partition}] = committed{offset: p.Offset, metadata: p.Metadata}
			}
		}
		out[g.Group] = m
	}
	return out, errors.Join(errs...)
}

// groupStates describes groups: "Empty", "Stable", ... ("Dead" when unknown).
func groupStates(ctx context.Context, cl *kgo.Client, groups []string) (map[string]string, error) {
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = groups
	resp, err := req.RequestWith(ctx, cl)
	if resp == nil {
		return nil, fmt.Errorf("describing groups %v: %w", groups, err)
	}
	if err != nil {
		return nil, fmt.Errorf("describing groups %v: %w", groups, err)
	}
	out := make(map[string]string, len(resp.Groups))
	for _, g := range resp.Groups {
		switch err := kerr.ErrorForCode(g.ErrorCode); {
		case errors.Is(err, kerr.GroupIDNotFound):
			out[g.Group] = "Dead"
		case err != nil:
			return nil, fmt.Errorf("describing group %s: %w", g.Group, err)
		default:
			out[g.Group] = g.State
		}
	}
	return out, nil
}

// commitOffsets commits offsets for group as a simple (generation -1) consumer.
func commitOffsets(ctx context.Context, cl *kgo.Client, group string, keys []partKey, offs map[partKey]committed) error {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.Generation, req.MemberID = group, -1, ""
	idx := make(map[string]int)
	for _, k := range keys {
		i, ok := idx[k.topic]
		if !ok {
			i = len(req.Topics)
			idx[k.topic] = i
			rt := kmsg.NewOffsetCommitRequestTopic()
			rt.Topic = k.topic
			req.Topics = append(req.Topics, rt)
		}
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata = k.partition, offs[k].offset, -1, offs[k].metadata
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("committing offsets of group %s: %w", group, err)
	}
	var errs []error
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				errs = append(errs, fmt.Errorf("committing offset %d of group %s in %s[%d]: %w", offs[partKey{t.Topic, p.Partition}].offset, group, t.Topic, p.Partition, err))
			}
		}
	}
	return errors.Join(errs...)
}
