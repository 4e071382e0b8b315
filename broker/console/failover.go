package console

import (
	"context"
	"fmt"
	"time"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// Thresholds of the failover and performance criteria.
const (
	maxElection      = time.Second // "Failover works (leader election < 1s)"
	failoverWait     = 10 * time.Second
	failoverPoll     = 10 * time.Millisecond
	minBaselineRatio = 0.9 // "Performance within 10% of v1.x baseline"
)

// failoverCheck moves the metadata leadership to another voter and times how long the cluster
// is without a known leader, then how long until a produce/consume round trip succeeds.
func (s *Server) failoverCheck(ctx context.Context, req *consolepb.RunValidationRequest, n NodeInfo, members []Member) *consolepb.Check {
	const id, name = "failover", "Failover works (leader election < 1s)"
	switch {
	case n.Mode == ModeStandalone:
		return check(id, name, skip, "single standalone node: there is no other node to fail over to")
	case !req.GetFailoverTest():
		return check(id, name, skip, "not requested (failover_test moves the leadership; the console's Validate step asks for it with a token)")
	case !s.hasAdmin(ctx):
		return check(id, name, skip, "moves the leadership: needs the admin token")
	case s.cfg.Membership == nil:
		return check(id, name, skip, "this node cannot move the leadership")
	}
	voters := 0
	for _, m := range members {
		if m.Voter {
			voters++
		}
	}
	if voters < 2 {
		return check(id, name, fail, "%d voter: there is no other node to fail over to", voters)
	}
	before, _ := s.src.Leader()
	start := s.cfg.Now()
	target, err := s.cfg.Membership.TransferLeadership(ctx, 0)
	if err != nil {
		return check(id, name, fail, "moving the leadership away from node %d: %v", before, err)
	}
	wait, cancel := context.WithTimeout(ctx, failoverWait)
	defer cancel()
	t := time.NewTicker(failoverPoll)
	defer t.Stop()
	for {
		if l, ok := s.src.Leader(); ok && l == target {
			break
		}
		select {
		case <-wait.Done():
			return check(id, name, fail, "node %d handed over to node %d, but no node reports it as leader after %s", before, target, failoverWait)
		case <-t.C:
		}
	}
	elected := s.cfg.Now().Sub(start)
	detail := fmt.Sprintf("leadership moved from node %d to node %d: new leader in %d ms", before, target, elected.Milliseconds())
	if topic := req.GetProduceConsumeTopic(); topic != "" {
		addr := n.KafkaAddr
		for _, m := range s.src.Members() {
			if m.ID == target && m.KafkaAddr != "" {
				addr = m.KafkaAddr
			}
		}
		if err := roundTrip(wait, addr, topic, s.cfg.Now()); err != nil {
			return check(id, name, fail, "%s, but produce/consume via %s failed: %v", detail, addr, err)
		}
		detail += fmt.Sprintf(", produce/consume via node %d after %d ms", target, s.cfg.Now().Sub(start).Milliseconds())
	}
	detail += " (a graceful transfer; a crashed leader adds the election timeout, see scripts/bench-cluster.sh)"
	if elected >= maxElection {
		return check(id, name, fail, "%s", detail)
	}
	return check(id, name, pass, "%s", detail)
}

// performanceCheck measures the produce rate with the baseline's record size and compares it
// with the baseline recorded before the migration.
func (s *Server) performanceCheck(ctx context.Context, req *consolepb.RunValidationRequest) *consolepb.Check {
	const id, name = "performance", "Performance within 10% of v1.x baseline"
	base := req.GetBaselineRecordsPerSec()
	topic := req.GetProduceConsumeTopic()
	switch {
	case base <= 0:
		return check(id, name, skip, "no baseline: measure one before the migration (MeasureProduce; the workflows' baseline step does)")
	case topic == "":
		return check(id, name, skip, "needs produce_consume_topic to write to")
	case !s.hasAdmin(ctx):
		return check(id, name, skip, "writes records to %s: needs the admin token", topic)
	}
	size := int(req.GetBaselineRecordBytes())
	if size <= 0 {
		size = defaultRecordBytes
	}
	t, err := measureProduce(ctx, s.src.Node().KafkaAddr, topic, defaultMeasureFor, size)
	if err != nil {
		return check(id, name, fail, "measuring: %v", err)
	}
	ratio := t.recordsPerSec() / base
	detail := fmt.Sprintf("%.0f records/s (%.1f MiB/s, %d-byte records) = %.0f%% of the baseline %.0f records/s",
		t.recordsPerSec(), t.mibPerSec(), size, 100*ratio, base)
	if ratio < minBaselineRatio {
		return check(id, name, fail, "%s", detail)
	}
	return check(id, name, pass, "%s", detail)
}
