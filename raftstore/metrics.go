package raftstore

import (
	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

// nodeMetrics exports the Raft state of every group of the node at scrape time:
//
//	chronik_raft_state{group}                  0 follower, 1 candidate, 2 leader, 3 shutdown
//	chronik_raft_term{group}                   current term
//	chronik_raft_last_index{group}             last log index
//	chronik_raft_commit_index{group}           commit index
//	chronik_raft_applied_index{group}          last index applied to the state machine
//	chronik_raft_leader_changes_total{group}   leader changes observed
//	chronik_raft_follower_lag{group,follower}  entries a follower is behind (on the group's leader)
//	chronik_raft_voters{group}                 voters in the group's configuration
type nodeMetrics struct {
	n                                                   *Node
	state, term, last, commit, applied, changes, voters *prometheus.Desc
	lag                                                 *prometheus.Desc
}

func newNodeMetrics(n *Node, reg prometheus.Registerer) *nodeMetrics {
	m := &nodeMetrics{
		n:       n,
		state:   prometheus.NewDesc("chronik_raft_state", "Raft state of this node in a group: 0 follower, 1 candidate, 2 leader, 3 shutdown.", []string{"group"}, nil),
		term:    prometheus.NewDesc("chronik_raft_term", "Current Raft term of a group.", []string{"group"}, nil),
		last:    prometheus.NewDesc("chronik_raft_last_index", "Last Raft log index of a group on this node.", []string{"group"}, nil),
		commit:  prometheus.NewDesc("chronik_raft_commit_index", "Raft commit index of a group on this node.", []string{"group"}, nil),
		applied: prometheus.NewDesc("chronik_raft_applied_index", "Last Raft index applied to the state machine of a group on this node.", []string{"group"}, nil),
		changes: prometheus.NewDesc("chronik_raft_leader_changes_total", "Leader changes of a group observed by this node.", []string{"group"}, nil),
		voters:  prometheus.NewDesc("chronik_raft_voters", "Voters in a group's configuration.", []string{"group"}, nil),
		lag:     prometheus.NewDesc("chronik_raft_follower_lag", "Raft entries a follower is behind the leader (exported by the group's leader).", []string{"group", "follower"}, nil),
	}
	if reg != nil {
		reg.MustRegister(m)
	}
	return m
}

func (m *nodeMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.state, m.term, m.last, m.commit, m.applied, m.changes, m.voters, m.lag} {
		ch <- d
	}
}

func (m *nodeMetrics) Collect(ch chan<- prometheus.Metric) {
	groups := m.n.data.raftGroups()
	if g := m.n.metaGroup(); g != nil {
		groups = append([]*raftGroup{g}, groups...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, g := range groups {
		gauge(m.state, float64(g.r.State()), g.name)
		gauge(m.term, float64(g.r.CurrentTerm()), g.name)
		gauge(m.last, float64(g.r.LastIndex()), g.name)
		gauge(m.commit, float64(g.r.CommitIndex()), g.name)
		gauge(m.applied, float64(g.r.AppliedIndex()), g.name)
		ch <- prometheus.MustNewConstMetric(m.changes, prometheus.CounterValue, float64(g.changes()), g.name)
		if conf, err := g.configuration(); err == nil {
			voters := 0
			for _, s := range conf.Servers {
				if s.Suffrage == raft.Voter {
					voters++
				}
			}
			gauge(m.voters, float64(voters), g.name)
		}
		if g.isLeader() {
			for id, ps := range m.n.peers.get(g.name) {
				if ps.reachable {
					gauge(m.lag, float64(ps.lag), g.name, string(id))
				}
			}
		}
	}
}
