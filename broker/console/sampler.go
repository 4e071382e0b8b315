package console

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// sampler builds cluster states; only Run's goroutine uses it.
type sampler struct {
	s *Server

	hist      map[TopicPartition]*rateHist
	topics    map[string]int // partitions per topic at the previous sample; nil before the first
	members   map[uint64]Role
	leader    uint64
	seq       uint64
	lastEvent uint64
	prev      *consolepb.ClusterState

	migration   []MigrationNode
	migrationAt time.Time
}

func newSampler(s *Server) sampler {
	return sampler{s: s, hist: map[TopicPartition]*rateHist{}}
}

func (m *sampler) run(ctx context.Context) {
	cfg := &m.s.cfg
	for {
		signals := m.s.src.Changes()
		evCh := m.s.events.Changed()
		m.sample()
		// Coalesce: at most one state per MinInterval.
		t := time.NewTimer(cfg.MinInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		m.wait(ctx, signals, evCh)
		if ctx.Err() != nil {
			return
		}
	}
}

// wait returns at the first change signal, an appended event, SampleInterval or ctx done.
func (m *sampler) wait(ctx context.Context, signals []<-chan struct{}, evCh <-chan struct{}) {
	t := time.NewTimer(m.s.cfg.SampleInterval)
	defer t.Stop()
	cases := make([]reflect.SelectCase, 0, len(signals)+3)
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(t.C)},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(evCh)})
	for _, c := range signals {
		if c != nil {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c)})
		}
	}
	reflect.Select(cases)
}

// sample reads the source, records events for what changed, computes rates and publishes a
// new state when anything differs from the previous one.
func (m *sampler) sample() {
	src, cfg := m.s.src, &m.s.cfg
	now := cfg.Now()
	node := src.Node()
	members := src.Members()
	leader, hasLeader := src.Leader()
	if !hasLeader {
		leader = 0
	}
	topics := src.Topics()
	committed := src.CommittedOffsets()
	groups := src.GroupCounts()
	if m.migration == nil || now.Sub(m.migrationAt) >= cfg.MigrationInterval {
		m.migration, m.migrationAt = src.Migration(), now
		if m.migration == nil {
			m.migration = []MigrationNode{}
		}
	}

	m.noteChanges(now, topics, members, leader)

	st := &consolepb.ClusterState{
		ClusterId:     node.ClusterID,
		Mode:          modeToProto(node.Mode),
		NodeId:        node.ID,
		LeaderId:      leader,
		GroupsByState: make(map[string]int32, len(groups)),
	}
	for _, mem := range members {
		st.Members = append(st.Members, memberToProto(mem))
	}
	for k, v := range groups {
		st.GroupsByState[k] = int32(v)
	}
	seen := make(map[TopicPartition]bool)
	for _, t := range topics {
		ts := &consolepb.TopicState{Name: t.Name, ReplicationFactor: int32(t.ReplicationFactor)}
		for _, p := range t.Partitions {
			tp := TopicPartition{t.Name, p.Partition}
			seen[tp] = true
			h := m.hist[tp]
			if h == nil {
				h = &rateHist{}
				m.hist[tp] = h
			}
			var prod, cons float64
			if p.HighWatermark >= 0 {
				prod, cons = h.add(now, p.HighWatermark, committed[tp], cfg.RateWindow)
			} else {
				h.samples = h.samples[:0] // unknown here (no local replica): no rate
			}
			ts.Partitions = append(ts.Partitions, &consolepb.PartitionState{
				Partition:      p.Partition,
				HighWatermark:  p.HighWatermark,
				LogStartOffset: p.LogStartOffset,
				LeaderId:       p.Leader,
				Replicas:       slices.Clone(p.Replicas),
				ProduceRate:    prod,
				ConsumeRate:    cons,
			})
		}
		st.Topics = append(st.Topics, ts)
	}
	for tp := range m.hist {
		if !seen[tp] {
			delete(m.hist, tp)
		}
	}
	for _, mn := range m.migration {
		st.Migration = append(st.Migration, migrationToProto(mn))
	}
	st.Mirrors = m.s.mirrorStates()

	lastEvent := m.s.events.LastSeq()
	if m.prev != nil && proto.Equal(m.prev, st) && lastEvent == m.lastEvent {
		return
	}
	m.seq++
	m.lastEvent = lastEvent
	m.prev = st
	pub := proto.CloneOf(st)
	pub.Sequence = m.seq
	m.s.publish(pub)
}

// noteChanges appends events for topics created or deleted, members joining or leaving and
// leader changes, compared with the previous sample (nothing at the first sample).
func (m *sampler) noteChanges(now time.Time, topics []Topic, members []Member, leader uint64) {
	ev := m.s.events
	cur := make(map[string]int, len(topics))
	for _, t := range topics {
		cur[t.Name] = len(t.Partitions)
	}
	curMembers := make(map[uint64]Role, len(members))
	for _, mem := range members {
		curMembers[mem.ID] = mem.Role
	}
	first := m.topics == nil
	if !first {
		for _, name := range slices.Sorted(maps.Keys(cur)) {
			old, ok := m.topics[name]
			switch {
			case !ok:
				ev.Appendf(slog.LevelInfo, "topic %s created (%s)", name, plural(cur[name], "partition"))
			case cur[name] > old:
				ev.Appendf(slog.LevelInfo, "topic %s: partitions %d → %d", name, old, cur[name])
			}
		}
		for _, name := range slices.Sorted(maps.Keys(m.topics)) {
			if _, ok := cur[name]; !ok {
				ev.Appendf(slog.LevelWarn, "topic %s deleted", name)
			}
		}
		for _, id := range slices.Sorted(maps.Keys(curMembers)) {
			if _, ok := m.members[id]; !ok {
				ev.Appendf(slog.LevelInfo, "node %d joined the cluster", id)
			}
		}
		for _, id := range slices.Sorted(maps.Keys(m.members)) {
			if _, ok := curMembers[id]; !ok {
				ev.Appendf(slog.LevelWarn, "node %d left the cluster", id)
			}
		}
	}
	if first || leader != m.leader {
		if !first {
			switch {
			case leader == 0:
				ev.Appendf(slog.LevelWarn, "leader lost (was node %d)", m.leader)
			case m.leader == 0:
				ev.Appendf(slog.LevelInfo, "node %d is the leader", leader)
			default:
				ev.Appendf(slog.LevelWarn, "leader changed: node %d → node %d", m.leader, leader)
			}
		}
		m.s.setLeadership(leader, now)
	}
	m.topics, m.members, m.leader = cur, curMembers, leader
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// rateHist keeps recent (time, hwm, committed) samples of one partition.
type rateHist struct {
	samples []rateSample
}

type rateSample struct {
	t         time.Time
	hwm       int64
	committed int64
}

// add records a sample and returns the produce and consume rates (records/s) over the window:
// from the oldest sample at most window old (keeping one older sample as the baseline) to now.
// A high watermark or committed sum that went backwards (truncation, offset reset) restarts
// that history.
func (h *rateHist) add(now time.Time, hwm, committed int64, window time.Duration) (produce, consume float64) {
	if n := len(h.samples); n > 0 && (hwm < h.samples[n-1].hwm || committed < h.samples[n-1].committed) {
		h.samples = h.samples[:0]
	}
	h.samples = append(h.samples, rateSample{now, hwm, committed})
	// Drop samples older than the window, but keep the newest of those as the baseline.
	cut := 0
	for i := range h.samples {
		if now.Sub(h.samples[i].t) > window {
			cut = i
		}
	}
	h.samples = h.samples[cut:]
	base := h.samples[0]
	dt := now.Sub(base.t).Seconds()
	if dt <= 0 || now.Sub(base.t) > 2*window {
		return 0, 0
	}
	return float64(hwm-base.hwm) / dt, float64(committed-base.committed) / dt
}
