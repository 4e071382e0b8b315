package raftstore

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	pb "github.com/chronik-stream/chronik/raftstore/raftpb"
)

// controlInterval is the period of the metadata leader's membership work (promotion, replica
// placement, follower polling).
const controlInterval = 250 * time.Millisecond

// catchUpEntries is how far behind the leader's commit index a non-voter may be and still be
// promoted.
const catchUpEntries = 64

// leaderLoop runs the metadata leader's work (the group coordinator, promotion and placement)
// while this node leads the metadata group, and the follower's view of its peers otherwise.
func (n *Node) leaderLoop(ctx context.Context) {
	var stop context.CancelFunc
	var done chan struct{}
	stopRole := func() {
		if stop != nil {
			stop()
			<-done
			stop = nil
		}
	}
	startRole := func(work func(context.Context)) {
		rctx, cancel := context.WithCancel(ctx)
		stop, done = cancel, make(chan struct{})
		go func() {
			defer close(done)
			work(rctx)
		}()
	}
	defer stopRole()
	startRole(n.follow)
	leading := false
	for {
		select {
		case <-ctx.Done():
			return
		case isLeader := <-n.leaderCh:
			if isLeader == leading {
				continue
			}
			stopRole()
			leading = isLeader
			if isLeader {
				startRole(n.lead)
			} else {
				startRole(n.follow)
			}
		}
	}
}

// followPollInterval is how often a node that does not lead the metadata group asks its peers
// for their progress (the members view: last contact, lag, unreachable).
const followPollInterval = time.Second

// follow keeps a non-leader's view of its metadata-group peers until ctx ends: their progress
// as they report it, measured against this node's own log.
func (n *Node) follow(ctx context.Context) {
	t := time.NewTicker(followPollInterval)
	defer t.Stop()
	for {
		if g := n.metaGroup(); g != nil {
			if conf, err := g.configuration(); err == nil {
				n.pollPeers(ctx, g, conf)
			}
		}
		select {
		case <-ctx.Done():
			if g := n.metaGroup(); g != nil {
				n.peers.clear(g.name)
			}
			return
		case <-t.C:
		}
	}
}

// lead is the metadata leader's work until ctx ends.
func (n *Node) lead(ctx context.Context) {
	g := n.metaGroup()
	// Everything committed before this term must be applied before the coordinator recovers
	// groups from the store.
	if err := g.r.Barrier(10 * time.Second).Error(); err != nil {
		n.logger.Warn("metadata leader barrier failed", "err", err)
		return
	}
	n.logger.Info("this node leads the metadata group", "term", g.r.CurrentTerm())
	n.coord.start()
	defer n.coord.stop()
	defer n.peers.clear(g.name)
	t := time.NewTicker(controlInterval)
	defer t.Stop()
	for {
		n.controlTick(ctx, g)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// targetVoters is how many voters the metadata group should have with n members.
func targetVoters(n, max int) int {
	switch {
	case n >= 5 && max >= 5:
		return 5
	case n >= 3:
		return 3
	default:
		return n
	}
}

// controlTick promotes caught-up non-voters and places data-group replicas on the members.
func (n *Node) controlTick(ctx context.Context, g *raftGroup) {
	conf, err := g.configuration()
	if err != nil {
		return
	}
	statuses := n.pollPeers(ctx, g, conf)
	n.promote(ctx, g, conf, statuses)

	st := n.State()
	changes := placeReplicas(st.Groups, st.NodeIDs(), n.cfg.ReplicationFactor)
	for _, id := range slicesSortedKeys(changes) {
		if ctx.Err() != nil {
			return
		}
		reps := changes[id]
		if _, err := n.proposeCluster(ctx, clusterCmd{Op: opSetReplicas, Group: id, Replicas: reps}); err != nil {
			n.logger.Warn("placing data group replicas failed", "group", DataGroupName(id), "replicas", reps, "err", err)
			return
		}
		n.logger.Info("data group replicas placed", "group", DataGroupName(id), "replicas", reps)
	}
}

func slicesSortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// promote makes caught-up non-voters voters while the group has fewer than the target.
func (n *Node) promote(ctx context.Context, g *raftGroup, conf raft.Configuration, statuses map[raft.ServerID]peerStatus) {
	voters := 0
	var nonvoters []raft.Server
	for _, s := range conf.Servers {
		if s.Suffrage == raft.Voter {
			voters++
		} else {
			nonvoters = append(nonvoters, s)
		}
	}
	target := targetVoters(len(conf.Servers), n.cfg.MaxVoters)
	commit := g.r.CommitIndex()
	for _, s := range nonvoters {
		if voters >= target || ctx.Err() != nil {
			return
		}
		ps, ok := statuses[s.ID]
		if !ok || !ps.reachable || ps.applied+catchUpEntries < commit {
			continue
		}
		if err := g.r.AddVoter(s.ID, s.Address, 0, 10*time.Second).Error(); err != nil {
			n.logger.Warn("promoting a non-voter failed", "group", g.name, "node", s.ID, "err", err)
			return
		}
		voters++
		n.logger.Info(fmt.Sprintf("Node %s promoted to voter", s.ID), "group", g.name, "voters", voters)
	}
}

// peerStatus is a follower's progress as it reported it.
type peerStatus struct {
	reachable bool
	last      uint64
	applied   uint64
	lag       uint64 // leader's last index minus the follower's
	at        time.Time
}

// pollPeers asks every other server of the group for its progress (bounded by a short
// deadline) and records it for metrics and the members view.
func (n *Node) pollPeers(ctx context.Context, g *raftGroup, conf raft.Configuration) map[raft.ServerID]peerStatus {
	out := make(map[raft.ServerID]peerStatus, len(conf.Servers))
	var mu sync.Mutex
	var wg sync.WaitGroup
	leaderLast := g.r.LastIndex()
	for _, s := range conf.Servers {
		if s.ID == serverID(n.id) {
			continue
		}
		wg.Go(func() {
			ps := peerStatus{at: time.Now()}
			if client, err := n.netw.clusterClient(s.Address); err == nil {
				cctx, cancel := context.WithTimeout(ctx, 2*n.cfg.Raft.HeartbeatTimeout)
				resp, err := client.GroupStatus(cctx, &pb.GroupStatusRequest{Group: g.name})
				cancel()
				if err == nil {
					ps.reachable = true
					ps.last, ps.applied = resp.GetLastIndex(), resp.GetAppliedIndex()
					if leaderLast > ps.last {
						ps.lag = leaderLast - ps.last
					}
				}
			}
			mu.Lock()
			out[s.ID] = ps
			mu.Unlock()
		})
	}
	wg.Wait()
	n.peers.set(g.name, out)
	return out
}

// peerTracker keeps the latest follower statuses per group (leader side).
type peerTracker struct {
	mu     sync.Mutex
	groups map[string]map[raft.ServerID]peerStatus
}

func newPeerTracker() *peerTracker {
	return &peerTracker{groups: map[string]map[raft.ServerID]peerStatus{}}
}

func (p *peerTracker) set(group string, s map[raft.ServerID]peerStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.groups[group] = s
}

func (p *peerTracker) clear(group string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.groups, group)
}

// get returns the statuses recorded for a group.
func (p *peerTracker) get(group string) map[raft.ServerID]peerStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.groups[group]
}
