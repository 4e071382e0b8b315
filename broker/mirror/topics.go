package mirror

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// partKey names one partition.
type partKey struct {
	topic     string
	partition int32
}

func (k partKey) String() string { return fmt.Sprintf("%s[%d]", k.topic, k.partition) }

// mirroredConfigs are the topic configs copied to destination topics when the source sets
// them on the topic (not broker or built-in defaults).
var mirroredConfigs = []string{"retention.ms", "retention.bytes", "cleanup.policy", "max.message.bytes", "segment.bytes"}

// isInternal reports whether topic is internal to a broker (never mirrored).
func isInternal(topic string) bool { return strings.HasPrefix(topic, "__") }

// topicMatcher compiles a mirror's topic regex. The regex must match the whole topic name
// (as Kafka's mirror whitelists do); "" matches every topic. Internal topics never match.
func topicMatcher(expr string) (func(string) bool, error) {
	if expr == "" {
		return func(t string) bool { return !isInternal(t) }, nil
	}
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		return nil, fmt.Errorf("topic regex %q: %w", expr, err)
	}
	return func(t string) bool { return !isInternal(t) && re.MatchString(t) }, nil
}

// topicCounts reads the partition counts of topics (nil: every topic) from cl's cluster.
// Topics the cluster does not know are absent from the result; other topic errors are
// returned per topic.
func topicCounts(ctx context.Context, cl *kgo.Client, topics []string) (map[string]int32, map[string]error, error) {
	req := kmsg.NewPtrMetadataRequest()
	if topics != nil {
		req.Topics = make([]kmsg.MetadataRequestTopic, 0, len(topics))
		for _, t := range topics {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(t)
			req.Topics = append(req.Topics, rt)
		}
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, nil, fmt.Errorf("metadata: %w", err)
	}
	counts := make(map[string]int32, len(resp.Topics))
	errs := make(map[string]error)
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		switch err := kerr.ErrorForCode(t.ErrorCode); {
		case errors.Is(err, kerr.UnknownTopicOrPartition):
		case err != nil:
			errs[*t.Topic] = fmt.Errorf("metadata of topic %s: %w", *t.Topic, err)
		default:
			counts[*t.Topic] = int32(len(t.Partitions))
		}
	}
	return counts, errs, nil
}

// listOffsets asks cl's cluster for an offset of each partition: kmsg timestamp -2 is the
// log start, -1 the high watermark. Partition errors are returned per partition.
func listOffsets(ctx context.Context, cl *kgo.Client, parts []partKey, timestamp int64) (map[partKey]int64, map[partKey]error, error) {
	out := make(map[partKey]int64, len(parts))
	errs := make(map[partKey]error)
	if len(parts) == 0 {
		return out, errs, nil
	}
	byTopic := make(map[string][]int32)
	for _, p := range parts {
		byTopic[p.topic] = append(byTopic[p.topic], p.partition)
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	for t, ps := range byTopic {
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = t
		for _, p := range ps {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch, rp.MaxNumOffsets = p, timestamp, -1, 1
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	shards := cl.RequestSharded(ctx, req)
	var firstErr error
	for _, sh := range shards {
		if sh.Err != nil {
			if firstErr == nil {
				firstErr = sh.Err
			}
			continue
		}
		resp := sh.Resp.(*kmsg.ListOffsetsResponse)
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				k := partKey{t.Topic, p.Partition}
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					errs[k] = fmt.Errorf("list offsets of %s: %w", k, err)
					continue
				}
				off := p.Offset
				if resp.Version == 0 {
					off = -1
					if len(p.OldStyleOffsets) > 0 {
						off = p.OldStyleOffsets[0]
					}
				}
				out[k] = off
			}
		}
	}
	for _, p := range parts {
		if _, ok := out[p]; !ok && errs[p] == nil {
			if firstErr != nil {
				errs[p] = fmt.Errorf("list offsets of %s: %w", p, firstErr)
			} else {
				errs[p] = fmt.Errorf("list offsets of %s: no answer", p)
			}
		}
	}
	return out, errs, nil
}

// sourceTopicConfigs returns, per topic, the mirroredConfigs the source sets on the topic
// itself. Topics whose configs cannot be described get none (the destination's defaults).
func sourceTopicConfigs(ctx context.Context, src *kgo.Client, topics []string) map[string]map[string]string {
	out := make(map[string]map[string]string, len(topics))
	if len(topics) == 0 {
		return out
	}
	req := kmsg.NewPtrDescribeConfigsRequest()
	for _, t := range topics {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName, rr.ConfigNames = kmsg.ConfigResourceTypeTopic, t, mirroredConfigs
		req.Resources = append(req.Resources, rr)
	}
	resp, err := req.RequestWith(ctx, src)
	if err != nil {
		return out
	}
	for _, r := range resp.Resources {
		if r.ErrorCode != 0 {
			continue
		}
		for _, c := range r.Configs {
			set := c.Source == kmsg.ConfigSourceDynamicTopicConfig ||
				(resp.Version == 0 && !c.IsDefault && !c.ReadOnly) // v0 answers have no source
			if !set || c.Value == nil || !wantedConfig(c.Name) {
				continue
			}
			if out[r.ResourceName] == nil {
				out[r.ResourceName] = make(map[string]string)
			}
			out[r.ResourceName][c.Name] = *c.Value
		}
	}
	return out
}

func wantedConfig(name string) bool {
	for _, n := range mirroredConfigs {
		if n == name {
			return true
		}
	}
	return false
}

// ensureDestTopics makes every topic in want exist on the destination with exactly the
// given partition count: missing topics are created (replication factor -1, configs from
// the source), topics with fewer partitions grow. It returns the topics whose partition
// count grew, and per-topic errors (a destination with more partitions than the source is
// an error: records could not keep their partition).
func ensureDestTopics(ctx context.Context, src, dst *kgo.Client, want map[string]int32) (grown []string, errs map[string]error, err error) {
	errs = make(map[string]error)
	names := make([]string, 0, len(want))
	for t := range want {
		names = append(names, t)
	}
	sort.Strings(names)
	have, metaErrs, err := topicCounts(ctx, dst, names)
	if err != nil {
		return nil, nil, fmt.Errorf("destination %w", err)
	}
	for t, e := range metaErrs {
		errs[t] = fmt.Errorf("destination %w", e)
	}

	var create, grow []string
	for _, t := range names {
		n, ok := have[t]
		switch {
		case errs[t] != nil:
		case !ok:
			create = append(create, t)
		case n < want[t]:
			grow = append(grow, t)
		case n > want[t]:
			errs[t] = fmt.Errorf("topic %s: the destination has %d partitions but the source has %d: records could not keep their partition (delete the destination topic or mirror into an empty cluster)", t, n, want[t])
		}
	}

	if len(create) > 0 {
		configs := sourceTopicConfigs(ctx, src, create)
		req := kmsg.NewPtrCreateTopicsRequest()
		req.TimeoutMillis = 30000
		for _, t := range create {
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = t, want[t], -1
			keys := make([]string, 0, len(configs[t]))
			for k := range configs[t] {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				rc := kmsg.NewCreateTopicsRequestTopicConfig()
				rc.Name, rc.Value = k, kmsg.StringPtr(configs[t][k])
				rt.Configs = append(rt.Configs, rc)
			}
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(ctx, dst)
		if err != nil {
			return nil, nil, fmt.Errorf("creating destination topics %v: %w", create, err)
		}
		for _, rt := range resp.Topics {
			if err := kerr.ErrorForCode(rt.ErrorCode); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
				msg := ""
				if rt.ErrorMessage != nil {
					msg = ": " + *rt.ErrorMessage
				}
				errs[rt.Topic] = fmt.Errorf("creating destination topic %s with %d partitions and configs %v: %w%s", rt.Topic, want[rt.Topic], configs[rt.Topic], err, msg)
			}
		}
		// A topic created concurrently by someone else must still have the right count.
		again, _, err := topicCounts(ctx, dst, create)
		if err != nil {
			return nil, nil, fmt.Errorf("destination %w", err)
		}
		for _, t := range create {
			if errs[t] != nil {
				continue
			}
			switch n, ok := again[t]; {
			case !ok:
				errs[t] = fmt.Errorf("destination topic %s: not visible after creation", t)
			case n < want[t]:
				grow = append(grow, t)
			case n > want[t]:
				errs[t] = fmt.Errorf("topic %s: the destination has %d partitions but the source has %d", t, n, want[t])
			}
		}
	}

	if len(grow) > 0 {
		req := kmsg.NewPtrCreatePartitionsRequest()
		req.TimeoutMillis = 30000
		for _, t := range grow {
			rt := kmsg.NewCreatePartitionsRequestTopic()
			rt.Topic, rt.Count = t, want[t]
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(ctx, dst)
		if err != nil {
			return nil, nil, fmt.Errorf("adding partitions to destination topics %v: %w", grow, err)
		}
		for _, rt := range resp.Topics {
			if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
				msg := ""
				if rt.ErrorMessage != nil {
					msg = ": " + *rt.ErrorMessage
				}
				errs[rt.Topic] = fmt.Errorf("growing destination topic %s to %d partitions: %w%s", rt.Topic, want[rt.Topic], err, msg)
				continue
			}
			grown = append(grown, rt.Topic)
		}
	}
	return grown, errs, nil
}
