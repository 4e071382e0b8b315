package mirror

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// discover reads the source's topics and starts mirroring every matching partition not
// mirrored yet in this run: it makes the destination topic match (create, grow), checks
// the destination partition (empty at first sight; at or past the checkpoint on resume),
// persists the starting point, then adds the partition to the source consumer. It also
// refreshes the source log start and high watermark of every partition. fatal ends the
// mirror; transient problems are retried at the next round.
func (mr *mirror) discover(ctx context.Context, src, dst *kgo.Client) (fatal, transient error) {
	counts, srcErrs, err := topicCounts(ctx, src, nil)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", mr.source, err)
	}
	topicErrs := make(map[string]error)
	for t, e := range srcErrs {
		if mr.match(t) {
			topicErrs[t] = fmt.Errorf("source %w", e)
		}
	}

	// Topics with partitions to start.
	need := make(map[string]int32)
	mr.mu.Lock()
	for t, n := range counts {
		if !mr.match(t) {
			continue
		}
		for p := int32(0); p < n; p++ {
			if ps := mr.parts[partKey{t, p}]; ps == nil || !ps.consuming {
				need[t] = n
				break
			}
		}
	}
	mr.mu.Unlock()

	var start []partKey
	if len(need) > 0 {
		grown, destErrs, err := ensureDestTopics(ctx, src, dst, need)
		if err != nil {
			return nil, err
		}
		for t, e := range destErrs {
			topicErrs[t] = e
			delete(need, t)
		}
		limits := destMaxMessageBytes(ctx, dst, need)
		mr.limitsMu.Lock()
		for t, v := range limits {
			mr.maxMsgBytes[t] = v
		}
		mr.limitsMu.Unlock()

		var fresh, resumed []partKey
		mr.mu.Lock()
		for t, n := range need {
			for p := int32(0); p < n; p++ {
				k := partKey{t, p}
				switch ps := mr.parts[k]; {
				case ps == nil:
					fresh = append(fresh, k)
				case !ps.consuming:
					resumed = append(resumed, k)
				}
			}
		}
		mr.mu.Unlock()
		sortKeys(fresh)
		sortKeys(resumed)

		started, ferr, perrs, err := mr.preparePartitions(ctx, src, dst, fresh, resumed)
		if err != nil {
			return nil, err
		}
		if ferr != nil {
			return ferr, nil
		}
		for t, e := range perrs {
			topicErrs[t] = e
		}
		if len(started) > 0 {
			// Persist the starting points before anything is produced, so that a crash
			// resumes from them instead of finding a destination that "holds records".
			if err := mr.checkpoint(true); err != nil {
				return nil, err
			}
		}
		for _, t := range grown {
			if err := waitProducerPartitions(ctx, dst, t, need[t]); err != nil {
				return nil, err
			}
		}
		start = started
	}

	if len(start) > 0 {
		add := make(map[string]map[int32]kgo.Offset)
		mr.mu.Lock()
		for _, k := range start {
			ps := mr.parts[k]
			ps.consuming, ps.fetchNext = true, ps.nextSrc
			if add[k.topic] == nil {
				add[k.topic] = make(map[int32]kgo.Offset)
			}
			add[k.topic][k.partition] = kgo.NewOffset().At(ps.nextSrc)
		}
		mr.mu.Unlock()
		src.AddConsumePartitions(add)
	}

	mr.refreshSourceOffsets(ctx, src)

	// Report topic errors; log the new ones.
	mr.mu.Lock()
	old := mr.topicErrs
	mr.topicErrs = make(map[string]string, len(topicErrs))
	for t, e := range topicErrs {
		mr.topicErrs[t] = e.Error()
	}
	mr.mu.Unlock()
	for t, e := range topicErrs {
		if old[t] != e.Error() {
			mr.logger.Error("mirror: topic not mirrored", "topic", t, "err", e)
		}
	}
	return nil, nil
}

// preparePartitions checks the destination of the partitions to start. A fresh partition
// must be empty on the destination; its mapping starts at (source log start, destination
// high watermark). A resumed partition must hold at least what the checkpoint says was
// mirrored; records past it are skipped (offsetMap.resume). It returns the partitions to
// start, a fatal error (destination lost records), per-topic errors, or a transient error.
func (mr *mirror) preparePartitions(ctx context.Context, src, dst *kgo.Client, fresh, resumed []partKey) (
	started []partKey, fatal error, topicErrs map[string]error, err error,
) {
	topicErrs = make(map[string]error)
	dstEnd, dstEndErrs, err := listOffsets(ctx, dst, append(append([]partKey{}, fresh...), resumed...), -1)
	if err != nil {
		return nil, nil, nil, err
	}
	dstStart, dstStartErrs, err := listOffsets(ctx, dst, fresh, -2)
	if err != nil {
		return nil, nil, nil, err
	}
	srcStart, srcStartErrs, err := listOffsets(ctx, src, fresh, -2)
	if err != nil {
		return nil, nil, nil, err
	}
	srcEnd, _, err := listOffsets(ctx, src, fresh, -1)
	if err != nil {
		return nil, nil, nil, err
	}

	mr.mu.Lock()
	defer mr.mu.Unlock()
	for _, k := range resumed {
		if e := dstEndErrs[k]; e != nil {
			topicErrs[k.topic] = fmt.Errorf("destination %w", e)
			continue
		}
		ps := mr.parts[k]
		skip, err := ps.resume(dstEnd[k])
		if err != nil {
			return nil, fmt.Errorf("partition %s: %w", k, err), nil, nil
		}
		if skip > 0 {
			mr.logger.Info("mirror: resuming past records the destination already holds",
				"topic", k.topic, "partition", k.partition, "source_offset", ps.nextSrc, "dest_offset", ps.nextDst, "skip", skip)
		}
		ps.skip = skip
		started = append(started, k)
	}
	for _, k := range fresh {
		if e := errors.Join(dstEndErrs[k], dstStartErrs[k]); e != nil {
			topicErrs[k.topic] = fmt.Errorf("destination %w", e)
			continue
		}
		if e := srcStartErrs[k]; e != nil {
			topicErrs[k.topic] = fmt.Errorf("source %w", e)
			continue
		}
		if dstEnd[k] > dstStart[k] {
			topicErrs[k.topic] = fmt.Errorf("destination partition %s already holds records (offsets %d to %d): the mirror needs an empty destination partition or its own checkpoint",
				k, dstStart[k], dstEnd[k]-1)
			continue
		}
		hwm, ok := srcEnd[k]
		if !ok {
			hwm = -1
		}
		mr.parts[k] = &partition{offsetMap: newOffsetMap(srcStart[k], dstEnd[k]), logStart: srcStart[k], hwm: hwm}
		mr.version++
		started = append(started, k)
	}
	return started, nil, topicErrs, nil
}

// refreshSourceOffsets updates the source log start and high watermark of every consumed
// partition (kept as they were when the source does not answer).
func (mr *mirror) refreshSourceOffsets(ctx context.Context, src *kgo.Client) {
	mr.mu.Lock()
	keys := make([]partKey, 0, len(mr.parts))
	for k, ps := range mr.parts {
		if ps.consuming {
			keys = append(keys, k)
		}
	}
	mr.mu.Unlock()
	if len(keys) == 0 {
		return
	}
	starts, _, err := listOffsets(ctx, src, keys, -2)
	if err != nil {
		return
	}
	ends, _, err := listOffsets(ctx, src, keys, -1)
	if err != nil {
		return
	}
	mr.mu.Lock()
	defer mr.mu.Unlock()
	for _, k := range keys {
		ps := mr.parts[k]
		if v, ok := starts[k]; ok {
			ps.logStart = v
		}
		if v, ok := ends[k]; ok {
			ps.hwm = v
		}
	}
}

// destMaxMessageBytes reads max.message.bytes of destination topics (the producer's batch
// limit for them). Topics it cannot read are absent.
func destMaxMessageBytes(ctx context.Context, dst *kgo.Client, topics map[string]int32) map[string]int32 {
	out := make(map[string]int32, len(topics))
	if len(topics) == 0 {
		return out
	}
	req := kmsg.NewPtrDescribeConfigsRequest()
	for t := range topics {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName, rr.ConfigNames = kmsg.ConfigResourceTypeTopic, t, []string{"max.message.bytes"}
		req.Resources = append(req.Resources, rr)
	}
	resp, err := req.RequestWith(ctx, dst)
	if err != nil {
		return out
	}
	for _, r := range resp.Resources {
		if kerr.ErrorForCode(r.ErrorCode) != nil {
			continue
		}
		for _, c := range r.Configs {
			if c.Name != "max.message.bytes" || c.Value == nil {
				continue
			}
			if v, err := strconv.ParseInt(*c.Value, 10, 32); err == nil {
				out[r.ResourceName] = int32(min(max(v, 512), 1<<30))
			}
		}
	}
	return out
}

// waitProducerPartitions waits until the producer knows all n partitions of a topic whose
// destination partition count just grew (the manual partitioner fails records for
// partitions it does not know yet). A topic the producer has not loaded yet loads fresh.
func waitProducerPartitions(ctx context.Context, dst *kgo.Client, topic string, n int32) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if leader, _, _ := dst.PartitionLeader(topic, 0); leader < 0 {
			return nil // not loaded by the producer: its first load sees every partition
		}
		if leader, _, _ := dst.PartitionLeader(topic, n-1); leader >= 0 {
			return nil
		}
		dst.ForceMetadataRefresh()
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the producer to see %d partitions of %s: %w", n, topic, ctx.Err())
		case <-tick.C:
		}
	}
}

func sortKeys(ks []partKey) {
	sort.Slice(ks, func(i, j int) bool {
		return ks[i].topic < ks[j].topic || ks[i].topic == ks[j].topic && ks[i].partition < ks[j].partition
	})
}
