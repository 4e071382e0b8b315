package raftstore

import (
	"slices"
	"time"

	"github.com/hashicorp/raft"

	"github.com/chronik-stream/chronik/broker/httpapi"
)

// Member states shown by /admin/cluster/members.
const (
	StateLeader      = "leader"
	StateFollower    = "follower"
	StateCandidate   = "candidate"
	StateNonvoter    = "nonvoter"
	StateUnreachable = "unreachable"
	StateJoining     = "joining"
)

// MemberStatus is one member with its role in the metadata group.
type MemberStatus struct {
	NodeInfo
	State string
	Voter bool
	// Lag is how many entries the member is behind the leader (leader's view; -1 unknown).
	Lag int64
	// LastContact is how long ago this node last heard from the member: 0 for this node, the
	// leader's view of its followers (their last progress report), a follower's view of the
	// leader (raft's last contact); -1 unknown.
	LastContact time.Duration
}

// Members lists every member (and every server of the metadata group) sorted by node id, with
// its state: leader, follower, candidate (this node, campaigning), nonvoter, unreachable (the
// leader cannot reach it) or joining (recorded but not in the metadata group yet).
func (n *Node) Members() []MemberStatus {
	g := n.metaGroup()
	if g == nil {
		return nil
	}
	st := n.State()
	conf, _ := g.configuration()
	leader, _ := g.leader()
	peers := n.peers.get(MetaGroup)
	byID := map[uint64]*MemberStatus{}
	for id, info := range st.Nodes {
		byID[id] = &MemberStatus{NodeInfo: info, State: StateJoining, Lag: -1, LastContact: -1}
	}
	now := time.Now()
	for _, s := range conf.Servers {
		id := nodeOf(s.ID)
		m, ok := byID[id]
		if !ok {
			m = &MemberStatus{NodeInfo: NodeInfo{ID: id, RaftAddr: string(s.Address)}, Lag: -1, LastContact: -1}
			byID[id] = m
		}
		m.Voter = s.Suffrage == raft.Voter
		switch {
		case id == leader:
			m.State, m.Lag = StateLeader, 0
		case id == n.id && g.r.State() == raft.Candidate:
			m.State = StateCandidate
		case !m.Voter:
			m.State = StateNonvoter
		default:
			m.State = StateFollower
		}
		switch {
		case id == n.id:
			m.LastContact = 0
		case id == leader && !g.isLeader():
			if lc := g.r.LastContact(); !lc.IsZero() {
				m.LastContact = now.Sub(lc)
			}
		}
		if ps, ok := peers[s.ID]; ok && id != leader {
			if !ps.reachable {
				m.State = StateUnreachable
			} else {
				m.Lag = int64(ps.lag)
				m.LastContact = now.Sub(ps.at)
			}
		}
		if id != leader && g.isLeader() && g.unreachable(s.ID) {
			m.State = StateUnreachable // the leader's heartbeats to it fail
		}
	}
	out := make([]MemberStatus, 0, len(byID))
	for _, m := range byID {
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b MemberStatus) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// ClusterSize is the number of members (at least 1).
func (n *Node) ClusterSize() int {
	return max(len(n.State().Nodes), 1)
}

// Status is the node's view for /health and /admin/cluster/* (httpapi.Status).
func (n *Node) Status() httpapi.Status { return statusView{n} }

type statusView struct{ n *Node }

// Health is "healthy" once the node is a member and a metadata leader is known; 503 otherwise.
func (s statusView) Health() (status string, clusterSize int, isLeader bool, reason string) {
	n := s.n
	if n.metaGroup() == nil {
		return "starting", 0, false, "cluster node is starting"
	}
	size := n.ClusterSize()
	select {
	case <-n.joined:
	default:
		return "joining", size, false, "joining the cluster through the seed nodes"
	}
	if n.Leader() == 0 {
		return "unavailable", size, false, "no metadata leader is known (election in progress or no quorum)"
	}
	return "healthy", size, n.IsLeader(), ""
}

func (s statusView) Members() []httpapi.Member {
	ms := s.n.Members()
	var term uint64
	if g := s.n.metaGroup(); g != nil {
		term = g.r.CurrentTerm()
	}
	out := make([]httpapi.Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, httpapi.Member{NodeID: m.ID, Addr: m.RaftAddr, State: m.State,
			Voter: m.Voter, Term: term, LastContact: m.LastContact, Lag: m.Lag})
	}
	return out
}

func (s statusView) Leader() (httpapi.Member, bool) {
	n := s.n
	g := n.metaGroup()
	if g == nil {
		return httpapi.Member{}, false
	}
	id, addr := g.leader()
	if id == 0 {
		return httpapi.Member{}, false
	}
	a := string(addr)
	if info, ok := n.State().Nodes[id]; ok {
		a = info.RaftAddr
	}
	return httpapi.Member{NodeID: id, Addr: a, State: StateLeader}, true
}
