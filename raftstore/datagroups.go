package raftstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-stream/chronik/broker/storage"
)

const (
	// dataManageInterval is the period of a data-group leader's membership work.
	dataManageInterval = 500 * time.Millisecond
	// dataCatchUpEntries is how far behind the leader's last index a data replica may be and
	// still be promoted to voter.
	dataCatchUpEntries = 1024
	// Raft tuning of data groups, whose entries are produce payloads of up to a few MiB, so
	// that the Raft log (a second copy of the data) stays small; a snapshot is cheap (hard
	// links). dataTrailingLogs caps the entries kept after a snapshot (a follower further behind
	// gets a snapshot), dataSnapshotThreshold the entries between snapshots, checked every
	// dataSnapshotInterval; dataMaxAppendEntries bounds the entries per AppendEntries RPC.
	dataTrailingLogs      = 512
	dataSnapshotThreshold = 1024
	dataSnapshotInterval  = 5 * time.Second
	dataMaxAppendEntries  = 128
	// preferredLeaderDelay is how long a data-group leader waits after winning an election and
	// between attempts before it hands leadership to the group's preferred leader.
	preferredLeaderDelay = 3 * time.Second
)

// dataGroup is one data replication group this node holds a replica of.
type dataGroup struct {
	id    int
	name  string
	rg    *raftGroup
	fsm   *dataFSM
	snaps *dataSnapshotStore
	// readyGen is the generation of the leader loop serving the group (0: not serving): this
	// node leads the group and has applied every entry of earlier terms.
	readyGen atomic.Uint64
	gen      uint64 // last leader loop generation (mu)

	mu           sync.Mutex
	cancel       context.CancelFunc // stops the leader loop
	done         chan struct{}
	leaderSince  time.Time
	lastTransfer time.Time
}

// dataGroups runs the data replication groups this node holds replicas of, as placed by the
// metadata leader (ClusterState.Groups).
type dataGroups struct {
	n *Node

	mu     sync.RWMutex
	groups map[int]*dataGroup
	closed bool
	wg     sync.WaitGroup // leader loops
}

// ready reports whether this node leads the group and serves it.
func (dg *dataGroup) ready() bool { return dg.readyGen.Load() != 0 }

func newDataGroups(n *Node) *dataGroups {
	return &dataGroups{n: n, groups: map[int]*dataGroup{}}
}

func (d *dataGroups) get(id int) *dataGroup {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.groups[id]
}

// run starts and stops the node's data groups as the placement in the cluster state changes.
func (d *dataGroups) run(ctx context.Context) {
	// After a restart the metadata FSM starts from its last snapshot: placement decisions wait
	// (up to 10 s, then go on with what is known) until it has caught up with the leader.
	select {
	case <-d.n.joined:
	case <-ctx.Done():
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if err := d.n.SyncMetadata(ctx); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		st, changed := d.n.fsm.state()
		d.reconcile(st)
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-t.C:
		}
	}
}

func (d *dataGroups) reconcile(st ClusterState) {
	if _, member := st.Nodes[d.n.id]; !member {
		return
	}
	for _, gi := range st.Groups {
		want := slices.Contains(gi.Replicas, d.n.id)
		dg := d.get(gi.ID)
		switch {
		case want && dg == nil:
			if err := d.start(gi); err != nil {
				d.n.logger.Error("starting data group failed; retrying", "group", DataGroupName(gi.ID), "err", err)
			}
		case !want && dg != nil && !dg.rg.isLeader():
			// Leave once the group's leader has taken this node out of the configuration.
			conf, err := dg.rg.configuration()
			if err == nil && !slices.ContainsFunc(conf.Servers, func(s raft.Server) bool { return s.ID == serverID(d.n.id) }) {
				d.stop(dg)
			}
		}
	}
}

// start opens a data group's Raft member. The only replica of a group that never had a
// leader bootstraps it (the node that bootstrapped the cluster); others wait to be added by the
// group's leader.
func (d *dataGroups) start(gi DataGroupInfo) error {
	n := d.n
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return errors.New("shutting down")
	}
	d.mu.Unlock()
	name := DataGroupName(gi.ID)
	dir := filepath.Join(n.metaDir(), "raft_data", strconv.Itoa(gi.ID))
	snaps, err := openDataSnapshotStore(filepath.Join(dir, "snapshots"), 1, n.logger.With("group", name))
	if err != nil {
		return err
	}
	dg := &dataGroup{id: gi.ID, name: name, snaps: snaps}
	dg.fsm = newDataFSM(n, gi.ID, dir)
	spec := groupSpec{name: name, walDir: filepath.Join(dir, "wal"), fsm: dg.fsm, snaps: snaps}
	if gi.LeaderTerm == 0 && len(gi.Replicas) == 1 && gi.Replicas[0] == n.id {
		spec.bootstrap = &raft.Configuration{Servers: []raft.Server{{ID: serverID(n.id), Address: raft.ServerAddress(n.cfg.RaftAddr), Suffrage: raft.Voter}}}
	}
	rcfg := n.cfg.Raft
	rcfg.TrailingLogs = min(rcfg.TrailingLogs, dataTrailingLogs)
	rcfg.SnapshotThreshold = min(rcfg.SnapshotThreshold, dataSnapshotThreshold)
	rcfg.SnapshotInterval = min(rcfg.SnapshotInterval, dataSnapshotInterval)
	rcfg.MaxAppendEntries = min(rcfg.MaxAppendEntries, dataMaxAppendEntries)
	rg, err := openGroup(spec, n.id, rcfg, n.netw, n.cfg.Logger, func(isLeader bool) { d.onLeader(dg, isLeader) })
	if err != nil {
		return err
	}
	dg.rg = rg
	dg.fsm.live.Store(true)
	d.mu.Lock()
	d.groups[gi.ID] = dg
	d.mu.Unlock()
	d.openExisting(dg)
	n.logger.Info("data group started", "group", name, "replicas", gi.Replicas)
	return nil
}

// openExisting opens the group's partition logs that exist on disk, so that their high
// watermarks are served (metrics, console) from the start and not only once the group appends
// to them. Partitions without segments are left for the group to create (a new replica's come
// from a snapshot).
func (d *dataGroups) openExisting(dg *dataGroup) {
	n := d.n
	n.topicsMu.RLock()
	defer n.topicsMu.RUnlock()
	for _, gp := range dg.fsm.partitions() {
		has, err := hasSegments(n.cfg.Logs.Dir(gp.topic, gp.partition))
		if err != nil || !has {
			continue
		}
		if _, err := n.cfg.Logs.Open(gp.topic, gp.partition, n.logConfig(gp.configs)); err != nil {
			n.logger.Warn("opening a partition log failed", "group", dg.name, "topic", gp.topic, "partition", gp.partition, "err", err)
		}
	}
}

// stop shuts a data group's member down (this node no longer holds a replica).
func (d *dataGroups) stop(dg *dataGroup) {
	d.stopLeading(dg)
	if err := dg.rg.shutdown(); err != nil {
		d.n.logger.Warn("stopping data group", "group", dg.name, "err", err)
	}
	d.mu.Lock()
	if d.groups[dg.id] == dg {
		delete(d.groups, dg.id)
	}
	d.mu.Unlock()
	d.n.peers.clear(dg.name)
	d.n.logger.Info("data group stopped: this node no longer holds a replica", "group", dg.name)
}

// onLeader follows the group's leadership (observer goroutine: must not block).
func (d *dataGroups) onLeader(dg *dataGroup, isLeader bool) {
	if !isLeader {
		dg.readyGen.Store(0)
		dg.mu.Lock()
		if dg.cancel != nil {
			dg.cancel() // the loop ends on its own; shutdown waits for it (d.wg)
			dg.cancel, dg.done = nil, nil
		}
		dg.mu.Unlock()
		return
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.wg.Add(1)
	d.mu.Unlock()
	dg.mu.Lock()
	if dg.cancel != nil {
		dg.mu.Unlock()
		d.wg.Done()
		return
	}
	ctx, cancel := context.WithCancel(d.n.ctx)
	done := make(chan struct{})
	dg.gen++
	gen := dg.gen
	dg.cancel, dg.done, dg.leaderSince = cancel, done, time.Now()
	dg.mu.Unlock()
	go func() {
		defer d.wg.Done()
		defer close(done)
		d.lead(ctx, dg, gen)
	}()
}

func (d *dataGroups) stopLeading(dg *dataGroup) {
	dg.mu.Lock()
	cancel, done := dg.cancel, dg.done
	dg.cancel, dg.done = nil, nil
	dg.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// lead is a data-group leader's work: make sure every entry of earlier terms is applied, serve
// (ready), announce the leadership in the metadata, then manage the membership.
func (d *dataGroups) lead(ctx context.Context, dg *dataGroup, gen uint64) {
	n := d.n
	defer dg.readyGen.CompareAndSwap(gen, 0)
	if err := dg.rg.r.Barrier(30 * time.Second).Error(); err != nil {
		n.logger.Warn("data group leader barrier failed", "group", dg.name, "err", err)
		return
	}
	if !dg.rg.isLeader() || ctx.Err() != nil {
		return
	}
	dg.readyGen.Store(gen)
	term := dg.rg.r.CurrentTerm()
	n.logger.Info("this node leads a data group", "group", dg.name, "term", term)
	announced := false
	t := time.NewTicker(dataManageInterval)
	defer t.Stop()
	for {
		if !announced {
			actx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := n.proposeCluster(actx, clusterCmd{Op: opSetLeader, Group: dg.id, Leader: n.id, Term: term})
			cancel()
			switch {
			case err == nil || errors.Is(err, errRefused):
				announced = true
			case ctx.Err() == nil:
				n.logger.Debug("announcing data group leader failed; retrying", "group", dg.name, "err", err)
			}
		}
		d.manage(ctx, dg)
		select {
		case <-ctx.Done():
			n.peers.clear(dg.name)
			return
		case <-t.C:
		}
	}
}

// manage brings the group's configuration to the placement, one change per call: add missing
// replicas as non-voters, promote caught-up ones, remove replicas no longer placed here, and
// hand leadership to the preferred leader (the first replica) once it is a caught-up voter.
func (d *dataGroups) manage(ctx context.Context, dg *dataGroup) {
	n := d.n
	g := dg.rg
	gi, ok := n.State().Group(dg.id)
	if !ok || len(gi.Replicas) == 0 {
		return
	}
	st := n.State()
	conf, err := g.configuration()
	if err != nil {
		return
	}
	statuses := n.pollPeers(ctx, g, conf)
	if ctx.Err() != nil || !g.isLeader() {
		return
	}
	inConf := map[uint64]raft.Server{}
	for _, s := range conf.Servers {
		inConf[nodeOf(s.ID)] = s
	}
	for _, id := range gi.Replicas {
		if _, ok := inConf[id]; ok {
			continue
		}
		info, ok := st.Nodes[id]
		if !ok {
			continue
		}
		if err := g.r.AddNonvoter(serverID(id), raft.ServerAddress(info.RaftAddr), 0, 10*time.Second).Error(); err != nil {
			n.logger.Warn("adding a data group replica failed", "group", dg.name, "node", id, "err", err)
		} else {
			n.logger.Info("data group replica added as a non-voter", "group", dg.name, "node", id)
		}
		return
	}
	last := g.r.LastIndex()
	for _, s := range conf.Servers {
		if s.Suffrage == raft.Voter || !slices.Contains(gi.Replicas, nodeOf(s.ID)) {
			continue
		}
		ps, ok := statuses[s.ID]
		if !ok || !ps.reachable || ps.last+dataCatchUpEntries < last {
			continue
		}
		if err := g.r.AddVoter(s.ID, s.Address, 0, 10*time.Second).Error(); err != nil {
			n.logger.Warn("promoting a data group replica failed", "group", dg.name, "node", s.ID, "err", err)
		} else {
			n.logger.Info("data group replica caught up: now a voter", "group", dg.name, "node", s.ID)
		}
		return
	}
	for _, s := range conf.Servers {
		if id := nodeOf(s.ID); id != n.id && !slices.Contains(gi.Replicas, id) {
			if err := g.r.RemoveServer(s.ID, 0, 10*time.Second).Error(); err != nil {
				n.logger.Warn("removing a data group replica failed", "group", dg.name, "node", id, "err", err)
			} else {
				n.logger.Info("data group replica removed", "group", dg.name, "node", id)
			}
			return
		}
	}
	dg.mu.Lock()
	since, lastTransfer := dg.leaderSince, dg.lastTransfer
	dg.mu.Unlock()
	pref := gi.Replicas[0]
	if !slices.Contains(gi.Replicas, n.id) {
		pref = 0 // leave: any caught-up voter
	} else if pref == n.id || time.Since(since) < preferredLeaderDelay || time.Since(lastTransfer) < preferredLeaderDelay {
		return
	}
	var target raft.Server
	if pref != 0 {
		s, ok := inConf[pref]
		ps := statuses[serverID(pref)]
		if !ok || s.Suffrage != raft.Voter || !ps.reachable || ps.last+dataCatchUpEntries < last {
			return
		}
		target = s
	}
	dg.mu.Lock()
	dg.lastTransfer = time.Now()
	dg.mu.Unlock()
	var f raft.Future
	if target.ID != "" {
		f = g.r.LeadershipTransferToServer(target.ID, target.Address)
	} else {
		f = g.r.LeadershipTransfer()
	}
	if err := f.Error(); err != nil {
		n.logger.Debug("data group leadership transfer failed", "group", dg.name, "to", target.ID, "err", err)
		return
	}
	n.logger.Info("data group leadership handed over", "group", dg.name, "to", target.ID)
}

// topicDeleted removes the partition logs of a deleted topic (metadata FSM, topics locked).
func (d *dataGroups) topicDeleted(name string) {
	if err := d.n.cfg.Logs.DeleteTopic(name); err != nil {
		d.n.logger.Warn("deleting the logs of a deleted topic failed", "topic", name, "err", err)
	}
}

// topicsChanged applies topic config changes to open logs (metadata FSM).
func (d *dataGroups) topicsChanged(kind string) {
	if kind != "set_topic_configs" && kind != "snapshot" {
		return
	}
	for _, pl := range d.n.cfg.Logs.Logs() {
		if t, ok := d.n.store.Topic(pl.Topic); ok {
			pl.Log.SetConfig(d.n.logConfig(t.Configs))
		}
	}
}

// logConfig is the storage config of a partition log of a topic with these configs.
func (n *Node) logConfig(configs map[string]string) storage.LogConfig {
	if n.cfg.TopicLogConfig != nil {
		return n.cfg.TopicLogConfig(configs)
	}
	lc := storage.DefaultLogConfig()
	lc.Format = n.cfg.WALFormat
	return lc
}

// transferAll hands the leadership of every data group this node leads to another voter.
func (d *dataGroups) transferAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, dg := range d.all() {
		if !dg.rg.isLeader() {
			continue
		}
		wg.Go(func() {
			dg.readyGen.Store(0)
			if err := dg.rg.transferLeadership(); err != nil {
				d.n.logger.Warn("handing over data group leadership failed", "group", dg.name, "err", err)
			}
		})
	}
	wg.Wait()
}

func (d *dataGroups) all() []*dataGroup {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]*dataGroup, 0, len(d.groups))
	for _, dg := range d.groups {
		out = append(out, dg)
	}
	slices.SortFunc(out, func(a, b *dataGroup) int { return a.id - b.id })
	return out
}

// shutdown stops every data group (after the node's context was cancelled).
func (d *dataGroups) shutdown() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	groups := d.all()
	for _, dg := range groups {
		d.stopLeading(dg)
	}
	d.wg.Wait()
	var errs []error
	for _, dg := range groups {
		errs = append(errs, dg.rg.shutdown())
	}
	return errors.Join(errs...)
}

func (d *dataGroups) raftGroup(name string) *raftGroup {
	for _, dg := range d.all() {
		if dg.name == name {
			return dg.rg
		}
	}
	return nil
}

func (d *dataGroups) raftGroups() []*raftGroup {
	var out []*raftGroup
	for _, dg := range d.all() {
		out = append(out, dg.rg)
	}
	return out
}

// partitionLeader is the leader of a partition as this node knows it (-1 unknown): itself when
// it leads the partition's group and serves, the group's leader as its local Raft member knows
// it, else the leader announced in the metadata.
func (d *dataGroups) partitionLeader(gi DataGroupInfo) int32 {
	if dg := d.get(gi.ID); dg != nil {
		if dg.ready() {
			return int32(d.n.id)
		}
		if id, _ := dg.rg.leader(); id != 0 && id != d.n.id {
			return int32(id)
		}
	}
	if gi.Leader != 0 {
		return int32(gi.Leader)
	}
	return -1
}

// log returns the replicated log of a partition this node leads.
func (d *dataGroups) log(topic string, partition int32) (*replicatedLog, error) {
	n := d.n
	t, ok := n.store.Topic(topic)
	if !ok || partition < 0 || partition >= t.Partitions {
		return nil, kerr.UnknownTopicOrPartition
	}
	var gi DataGroupInfo
	n.fsm.view(func(s *ClusterState) { gi, _ = s.Group(s.GroupOf(topic, partition)) })
	dg := d.get(gi.ID)
	if dg == nil || !dg.ready() {
		return nil, fmt.Errorf("topic %s partition %d (%s) is led by node %d: %w", topic, partition, DataGroupName(gi.ID), d.partitionLeader(gi), kerr.NotLeaderForPartition)
	}
	l, err := n.cfg.Logs.Open(t.Name, partition, n.logConfig(t.Configs))
	if err != nil {
		return nil, fmt.Errorf("open topic %s partition %d: %w: %w", topic, partition, kerr.KafkaStorageError, err)
	}
	return &replicatedLog{n: n, dg: dg, Log: l, topic: t.Name, topicID: t.ID, partition: partition}, nil
}
