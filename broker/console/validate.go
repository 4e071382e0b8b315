package console

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// Thresholds of the guide's success criteria.
const (
	stableLeaderFor = 10 * time.Second // "Leadership elected and stable"
	quietLogsFor    = time.Hour        // "Logs show no errors for 1 hour"
)

// RunValidation runs the guide's "Migration Success Criteria" on the answering node. Criteria
// the node cannot measure are SKIP with the reason; none is reported as passed without being
// checked.
func (s *Server) RunValidation(ctx context.Context, req *consolepb.RunValidationRequest) (*consolepb.RunValidationResponse, error) {
	n := s.src.Node()
	now := s.cfg.Now()
	members := s.src.Members()
	topics := s.src.Topics()
	resp := &consolepb.RunValidationResponse{NodeId: n.ID}
	add := func(c *consolepb.Check) { resp.Checks = append(resp.Checks, c) }

	add(nodesCheck(req.GetExpectedNodes(), members))
	add(s.leaderCheck(now))
	add(topicsCheck(req.GetExpectedTopics(), topics))
	add(hwmCheck(req.GetExpectedHighWatermarks(), topics, n.ID))
	add(s.produceConsumeCheck(ctx, req.GetProduceConsumeTopic(), n, members))
	errs, metrics := s.errorsCheck(now, n), s.metricsCheck() // before the checks that load the node
	add(s.performanceCheck(ctx, req))
	add(s.failoverCheck(ctx, req, n, members)) // last: it moves the leadership
	add(errs)
	add(metrics)
	return resp, nil
}

func nodesCheck(expected uint32, members []Member) *consolepb.Check {
	const id, name = "nodes_joined", "All nodes joined cluster"
	if expected == 0 {
		return check(id, name, skip, "no expected node count given (%s now)", plural(len(members), "member"))
	}
	if len(members) == int(expected) {
		return check(id, name, pass, "%d of %d nodes", len(members), expected)
	}
	return check(id, name, fail, "%s, expected %d", plural(len(members), "member"), expected)
}

func (s *Server) leaderCheck(now time.Time) *consolepb.Check {
	const id, name = "leader_stable", "Leadership elected and stable"
	leader, since := s.leadership()
	switch {
	case leader == 0:
		return check(id, name, fail, "no leader")
	case since.IsZero() || now.Sub(since) < stableLeaderFor:
		return check(id, name, warn, "node %d leads, but only for %s (want %s without a change)",
			leader, now.Sub(since).Round(time.Second), stableLeaderFor)
	}
	return check(id, name, pass, "node %d has led for %s", leader, now.Sub(since).Round(time.Second))
}

func topicsCheck(expected []string, topics []Topic) *consolepb.Check {
	const id, name = "topics_present", "All topics present"
	if len(expected) == 0 {
		return check(id, name, skip, "no expected topic list given (%s now)", plural(len(topics), "topic"))
	}
	have := make(map[string]bool, len(topics))
	for _, t := range topics {
		have[t.Name] = true
	}
	var missing []string
	for _, t := range expected {
		if !have[t] {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return check(id, name, fail, "%d of %d missing: %s", len(missing), len(expected), limitList(missing, 10))
	}
	return check(id, name, pass, "all %d expected topics exist", len(expected))
}

func hwmCheck(expected []*consolepb.PartitionOffset, topics []Topic, nodeID uint64) *consolepb.Check {
	const id, name = "hwm_match", "High watermarks match v1.x"
	if len(expected) == 0 {
		return check(id, name, skip, "no baseline given: record the high watermarks before migrating")
	}
	have := map[TopicPartition]int64{}
	for _, t := range topics {
		for _, p := range t.Partitions {
			have[TopicPartition{t.Name, p.Partition}] = p.HighWatermark
		}
	}
	var bad []string
	for _, e := range expected {
		got, ok := have[TopicPartition{e.GetTopic(), e.GetPartition()}]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("%s/%d missing (want %d)", e.GetTopic(), e.GetPartition(), e.GetOffset()))
		case got < 0:
			bad = append(bad, fmt.Sprintf("%s/%d has no replica on node %d (ask a replica)", e.GetTopic(), e.GetPartition(), nodeID))
		case got != e.GetOffset():
			bad = append(bad, fmt.Sprintf("%s/%d is %d, want %d", e.GetTopic(), e.GetPartition(), got, e.GetOffset()))
		}
	}
	if len(bad) > 0 {
		return check(id, name, fail, "%d of %d differ: %s", len(bad), len(expected), limitList(bad, 5))
	}
	return check(id, name, pass, "all %d partitions match the baseline", len(expected))
}

// produceConsumeCheck produces one record to topic through every member's Kafka address and
// reads it back.
func (s *Server) produceConsumeCheck(ctx context.Context, topic string, n NodeInfo, members []Member) *consolepb.Check {
	const id, name = "produce_consume", "Produce/consume works on all nodes"
	if topic == "" {
		return check(id, name, skip, "no topic given")
	}
	if !s.hasAdmin(ctx) {
		return check(id, name, skip, "writes a record to %s: needs the admin token", topic)
	}
	var addrs []string
	for _, m := range members {
		if m.KafkaAddr != "" {
			addrs = append(addrs, m.KafkaAddr)
		}
	}
	if len(addrs) == 0 && n.KafkaAddr != "" {
		addrs = []string{n.KafkaAddr}
	}
	if len(addrs) == 0 {
		return check(id, name, skip, "no member advertises a Kafka address")
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ProduceConsumeTimeout)
	defer cancel()
	for _, addr := range addrs {
		if err := roundTrip(ctx, addr, topic, s.cfg.Now()); err != nil {
			return check(id, name, fail, "via %s: %v", addr, err)
		}
	}
	return check(id, name, pass, "produced to and consumed from %s via %s", topic, strings.Join(addrs, ", "))
}

// roundTrip produces one record to topic partition 0 at addr and fetches it back by offset.
func roundTrip(ctx context.Context, addr, topic string, now time.Time) error {
	value := []byte(fmt.Sprintf("chronik console validation %d", now.UnixNano()))
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.AllowAutoTopicCreation(), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	rec, err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: 0, Value: value}).First()
	if err != nil {
		return fmt.Errorf("produce to %s: %w", topic, err)
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(rec.Offset)}})
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("consume %s partition 0 offset %d: %w", topic, rec.Offset, err)
		}
		for _, fe := range fs.Errors() {
			return fmt.Errorf("consume %s partition %d offset %d: %w", fe.Topic, fe.Partition, rec.Offset, fe.Err)
		}
		for _, r := range fs.Records() {
			if r.Offset == rec.Offset {
				if !bytes.Equal(r.Value, value) {
					return fmt.Errorf("consume %s partition 0 offset %d: got %q, produced %q", topic, rec.Offset, r.Value, value)
				}
				return nil
			}
		}
	}
}

func (s *Server) errorsCheck(now time.Time, n NodeInfo) *consolepb.Check {
	const id, name = "no_errors", "Logs show no errors for 1 hour"
	count, last := s.events.ErrorStats()
	up := now.Sub(n.StartTime)
	switch {
	case count > 0 && now.Sub(last.Time) < quietLogsFor:
		return check(id, name, fail, "%d errors since start, the last %s ago: %s", count, now.Sub(last.Time).Round(time.Second), last.Message)
	case count > 0:
		return check(id, name, pass, "no error in the last hour (%d earlier, the last %s ago)", count, now.Sub(last.Time).Round(time.Minute))
	case up < quietLogsFor:
		return check(id, name, warn, "no errors so far, but the node is up for only %s of the hour the guide asks", up.Round(time.Second))
	}
	return check(id, name, pass, "no errors in %s of uptime", up.Round(time.Minute))
}

func (s *Server) metricsCheck() *consolepb.Check {
	const id, name = "metrics", "Prometheus metrics healthy"
	if s.cfg.Gatherer == nil {
		return check(id, name, skip, "this node exposes no metrics registry to the console")
	}
	mfs, err := s.cfg.Gatherer.Gather()
	if err != nil {
		return check(id, name, fail, "gathering /metrics: %v", err)
	}
	have := map[string]bool{}
	for _, mf := range mfs {
		have[mf.GetName()] = true
	}
	want := []string{"chronik_cluster_nodes"}
	if len(s.src.Topics()) > 0 {
		want = append(want, "chronik_high_watermark")
	}
	var missing []string
	for _, w := range want {
		if !have[w] {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		return check(id, name, fail, "/metrics lacks %s", strings.Join(missing, ", "))
	}
	return check(id, name, pass, "%d metric families, including %s", len(mfs), strings.Join(want, ", "))
}

func limitList(l []string, n int) string {
	if len(l) <= n {
		return strings.Join(l, ", ")
	}
	return strings.Join(l[:n], ", ") + fmt.Sprintf(" and %d more", len(l)-n)
}
