package raftstore

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// groupSpec describes one Raft group of a node.
type groupSpec struct {
	name    string // transport group id: MetaGroup or DataGroupName(n)
	walDir  string // raft-wal directory
	fsm     raft.FSM
	snaps   raft.SnapshotStore
	closeFn func() error // closes the snapshot store's resources, if any
	// bootstrap, when set and the group has no state, writes an initial snapshot at index 1 (term
	// 1) holding the FSM's current state and this configuration, then starts from it. Followers
	// that join later receive that snapshot, so state that existed before the group (a v1 data
	// directory being upgraded) reaches them.
	bootstrap *raft.Configuration
}

// raftGroup is one running Raft group member: raft.Raft with its stores and transport view.
type raftGroup struct {
	name   string
	r      *raft.Raft
	wal    *LogStore
	spec   groupSpec
	logger *slog.Logger

	obs   *raft.Observer
	obsCh chan raft.Observation

	mu            sync.Mutex
	leaderChanges uint64
	lastLeader    raft.ServerID
	failedPeers   map[raft.ServerID]time.Time // leader side: peers whose heartbeats fail
	stopObs       chan struct{}
	obsDone       chan struct{}
	onLeader      func(isLeader bool) // called from the observer goroutine on own leadership changes
}

// serverID is the Raft server id of a node.
func serverID(node uint64) raft.ServerID { return raft.ServerID(strconv.FormatUint(node, 10)) }

// nodeOf parses a Raft server id back into a node id (0 if it is not one).
func nodeOf(id raft.ServerID) uint64 {
	n, err := strconv.ParseUint(string(id), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// openGroup opens the stores of a group, bootstraps it when asked and it has no state, and
// starts raft.
func openGroup(spec groupSpec, self uint64, cfg Config, netw *Network, logger *slog.Logger, onLeader func(bool)) (_ *raftGroup, err error) {
	logger = logger.With("group", spec.name)
	w, err := OpenLogStore(spec.walDir, cfg.SegmentSize, logger)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = w.Close()
		}
	}()
	rc, err := cfg.RaftConfig(serverID(self), logger)
	if err != nil {
		return nil, err
	}
	trans := netw.Transport(spec.name)
	if spec.bootstrap != nil {
		has, err := raft.HasExistingState(w, w, spec.snaps)
		if err != nil {
			return nil, fmt.Errorf("raft group %s: checking for existing state: %w", spec.name, err)
		}
		if !has {
			if err := bootstrapFromSnapshot(w, spec.snaps, trans, *spec.bootstrap, spec.fsm); err != nil {
				_ = trans.Close()
				return nil, fmt.Errorf("raft group %s: bootstrap: %w", spec.name, err)
			}
			logger.Info("raft group bootstrapped", "servers", len(spec.bootstrap.Servers))
		}
	}
	r, err := raft.NewRaft(rc, spec.fsm, w, w, spec.snaps, trans)
	if err != nil {
		_ = trans.Close()
		return nil, fmt.Errorf("raft group %s: %w", spec.name, err)
	}
	g := &raftGroup{
		name:        spec.name,
		r:           r,
		wal:         w,
		spec:        spec,
		logger:      logger,
		obsCh:       make(chan raft.Observation, 64),
		failedPeers: map[raft.ServerID]time.Time{},
		stopObs:     make(chan struct{}),
		obsDone:     make(chan struct{}),
		onLeader:    onLeader,
	}
	g.obs = raft.NewObserver(g.obsCh, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.LeaderObservation, raft.FailedHeartbeatObservation, raft.ResumedHeartbeatObservation:
			return true
		}
		return false
	})
	r.RegisterObserver(g.obs)
	go g.observe()
	return g, nil
}

// bootstrapFromSnapshot gives a group with no state term 1 and a snapshot at index 1 holding
// the configuration and the FSM's current state.
func bootstrapFromSnapshot(w *LogStore, snaps raft.SnapshotStore, trans raft.Transport, conf raft.Configuration, fsm raft.FSM) error {
	if err := w.SetUint64([]byte("CurrentTerm"), 1); err != nil {
		return fmt.Errorf("saving the current term: %w", err)
	}
	sink, err := snaps.Create(raft.SnapshotVersionMax, 1, 1, conf, 1, trans)
	if err != nil {
		return fmt.Errorf("creating the initial snapshot: %w", err)
	}
	snap, err := fsm.Snapshot()
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("taking the initial snapshot: %w", err)
	}
	defer snap.Release()
	if err := snap.Persist(sink); err != nil {
		return fmt.Errorf("writing the initial snapshot: %w", err)
	}
	return nil
}

// observe follows leadership and heartbeat observations until shutdown.
func (g *raftGroup) observe() {
	defer close(g.obsDone)
	leaderCh := g.r.LeaderCh()
	for {
		select {
		case <-g.stopObs:
			return
		case isLeader := <-leaderCh:
			if !isLeader {
				g.mu.Lock()
				clear(g.failedPeers)
				g.mu.Unlock()
			}
			if g.onLeader != nil {
				g.onLeader(isLeader)
			}
		case o := <-g.obsCh:
			switch d := o.Data.(type) {
			case raft.LeaderObservation:
				g.mu.Lock()
				if d.LeaderID != g.lastLeader && d.LeaderID != "" {
					g.leaderChanges++
				}
				g.lastLeader = d.LeaderID
				g.mu.Unlock()
			case raft.FailedHeartbeatObservation:
				g.mu.Lock()
				if _, ok := g.failedPeers[d.PeerID]; !ok {
					g.failedPeers[d.PeerID] = d.LastContact
				}
				g.mu.Unlock()
			case raft.ResumedHeartbeatObservation:
				g.mu.Lock()
				delete(g.failedPeers, d.PeerID)
				g.mu.Unlock()
			}
		}
	}
}

// unreachable reports whether the leader currently fails to reach peer.
func (g *raftGroup) unreachable(peer raft.ServerID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.failedPeers[peer]
	return ok
}

// changes is the number of leader changes seen.
func (g *raftGroup) changes() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.leaderChanges
}

// leader is the current leader's node id (0 when unknown).
func (g *raftGroup) leader() (uint64, raft.ServerAddress) {
	addr, id := g.r.LeaderWithID()
	return nodeOf(id), addr
}

func (g *raftGroup) isLeader() bool { return g.r.State() == raft.Leader }

// configuration returns the latest configuration.
func (g *raftGroup) configuration() (raft.Configuration, error) {
	f := g.r.GetConfiguration()
	if err := f.Error(); err != nil {
		return raft.Configuration{}, err
	}
	return f.Configuration(), nil
}

// transferLeadership hands leadership to another up-to-date voter and waits for it (bounded by
// raft's election timeout). It is a no-op when this node does not lead or is the only voter.
func (g *raftGroup) transferLeadership() error {
	if !g.isLeader() {
		return nil
	}
	conf, err := g.configuration()
	if err != nil {
		return err
	}
	voters := 0
	for _, s := range conf.Servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
	}
	if voters < 2 {
		return nil
	}
	if err := g.r.LeadershipTransfer().Error(); err != nil && !errors.Is(err, raft.ErrNotLeader) {
		return fmt.Errorf("raft group %s: leadership transfer: %w", g.name, err)
	}
	// Name the new leader once this node hears from it (bounded: shutdown goes on regardless).
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if id, _ := g.leader(); id != 0 && g.r.State() != raft.Leader {
			g.logger.Info(fmt.Sprintf("leadership of %s handed over to node %d", g.name, id))
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	g.logger.Info(fmt.Sprintf("leadership of %s handed over", g.name))
	return nil
}

// shutdown stops raft, the observer and the stores.
func (g *raftGroup) shutdown() error {
	err := g.r.Shutdown().Error()
	g.r.DeregisterObserver(g.obs)
	close(g.stopObs)
	<-g.obsDone
	if cerr := g.wal.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if g.spec.closeFn != nil {
		if cerr := g.spec.closeFn(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("raft group %s: shutdown: %w", g.name, err)
	}
	return nil
}
