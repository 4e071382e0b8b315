package raftstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"

	"github.com/chronik-stream/chronik/broker/meta"
	"github.com/chronik-stream/chronik/broker/storage"
)

// clusterNode is one in-process cluster node: its gRPC server on 127.0.0.1, partition logs,
// metadata store and raftstore.Node.
type clusterNode struct {
	t     *testing.T
	id    uint64
	dir   string
	addr  string
	seeds []Seed
	mod   func(*NodeConfig)

	node  *Node
	srv   *grpc.Server
	logs  *storage.Manager
	store *meta.Store
	done  chan struct{}

	stopOnce *sync.Once
}

// nodeTestConfig is the Raft tuning of in-process cluster tests: relaxed timeouts (see
// testConfig) and small raft-wal segments.
func nodeTestConfig() Config { return testConfig() }

func newClusterNode(t *testing.T, id uint64, dir string, seeds []Seed, faults *Faults, mod func(*NodeConfig)) *clusterNode {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &clusterNode{t: t, id: id, dir: dir, addr: lis.Addr().String(), seeds: seeds, mod: func(nc *NodeConfig) {
		nc.Faults = faults
		if mod != nil {
			mod(nc)
		}
	}}
	c.start(lis)
	return c
}

func (c *clusterNode) start(lis net.Listener) {
	t := c.t
	t.Helper()
	if lis == nil {
		var err error
		deadline := time.Now().Add(10 * time.Second)
		for {
			lis, err = net.Listen("tcp", c.addr)
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	c.logs = storage.NewManager(c.dir+"/wal", testLogger(), nil)
	c.store = meta.NewStore(testLogger())
	cfg := NodeConfig{
		NodeID:    c.id,
		DataDir:   c.dir,
		RaftAddr:  c.addr,
		KafkaHost: "127.0.0.1",
		KafkaPort: int32(9000 + c.id),
		Seeds:     c.seeds,
		Raft:      nodeTestConfig(),
		Logs:      c.logs,
		Meta:      c.store,
		Logger:    testLogger().With("node", c.id),
		JoinRetry: 50 * time.Millisecond,
	}
	if c.mod != nil {
		c.mod(&cfg)
	}
	n, err := NewNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.node = n
	c.srv = grpc.NewServer(ServerOptions()...)
	n.Register(c.srv)
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		_ = c.srv.Serve(lis)
	}()
	if err := n.Start(context.Background()); err != nil {
		c.srv.Stop()
		t.Fatal(err)
	}
	c.stopOnce = &sync.Once{}
	t.Cleanup(c.stop)
}

// stop shuts the node down (leadership handed over) and closes its logs.
func (c *clusterNode) stop() {
	c.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := c.node.Shutdown(ctx); err != nil {
			c.t.Errorf("node %d shutdown: %v", c.id, err)
		}
		c.srv.Stop()
		<-c.done
		if err := c.logs.Close(); err != nil {
			c.t.Errorf("node %d closing logs: %v", c.id, err)
		}
	})
}

// restart stops the node and starts it again on the same directory and address.
func (c *clusterNode) restart() {
	c.stop()
	c.start(nil)
}

type testCluster struct {
	t      *testing.T
	nodes  []*clusterNode
	faults *Faults
}

// newTestCluster bootstraps node 1 and joins nodes 2..size through it.
func newTestCluster(t *testing.T, size int, mod func(*NodeConfig)) *testCluster {
	t.Helper()
	tc := &testCluster{t: t, faults: NewFaults(7)}
	first := newClusterNode(t, 1, t.TempDir(), nil, tc.faults, mod)
	tc.nodes = append(tc.nodes, first)
	waitFor(t, 10*time.Second, "node 1 to lead", func() bool { return first.node.IsLeader() })
	for i := 2; i <= size; i++ {
		tc.add(mod)
	}
	return tc
}

// add joins a new node through node 1 (and every other node as further seeds).
func (tc *testCluster) add(mod func(*NodeConfig)) *clusterNode {
	tc.t.Helper()
	var seeds []Seed
	for _, o := range tc.nodes {
		seeds = append(seeds, Seed{ID: o.id, Addr: o.addr})
	}
	c := newClusterNode(tc.t, uint64(len(tc.nodes)+1), tc.t.TempDir(), seeds, tc.faults, mod)
	tc.nodes = append(tc.nodes, c)
	waitFor(tc.t, 20*time.Second, fmt.Sprintf("node %d to join", c.id), func() bool {
		select {
		case <-c.node.Joined():
			return true
		default:
			return false
		}
	})
	return c
}

// leader waits for one node (among those given, default all) to lead the metadata group with
// every other one of them agreeing.
func (tc *testCluster) leader(timeout time.Duration, among ...*clusterNode) *clusterNode {
	tc.t.Helper()
	if len(among) == 0 {
		among = tc.nodes
	}
	var l *clusterNode
	waitFor(tc.t, timeout, "an agreed metadata leader", func() bool {
		l = nil
		for _, c := range among {
			if c.node.IsLeader() {
				if l != nil {
					return false
				}
				l = c
			}
		}
		if l == nil {
			return false
		}
		for _, c := range among {
			if c.node.Leader() != l.id {
				return false
			}
		}
		return true
	})
	return l
}

// voters waits until the metadata group has want voters.
func (tc *testCluster) voters(want int) {
	tc.t.Helper()
	waitFor(tc.t, 20*time.Second, fmt.Sprintf("%d voters", want), func() bool {
		l := tc.leaderOrNil()
		if l == nil {
			return false
		}
		n := 0
		for _, m := range l.node.Members() {
			if m.Voter {
				n++
			}
		}
		return n == want
	})
}

func (tc *testCluster) leaderOrNil() *clusterNode {
	for _, c := range tc.nodes {
		if c.node.IsLeader() {
			return c
		}
	}
	return nil
}

func (tc *testCluster) others(c *clusterNode) []*clusterNode {
	var out []*clusterNode
	for _, o := range tc.nodes {
		if o != c {
			out = append(out, o)
		}
	}
	return out
}

// topicNames lists a node's topics.
func topicNames(s *meta.Store) []string {
	var out []string
	for _, t := range s.Topics() {
		out = append(out, t.Name)
	}
	return out
}

// sameTopics waits until every node's store holds exactly want.
func (tc *testCluster) sameTopics(want []string) {
	tc.t.Helper()
	waitFor(tc.t, 20*time.Second, fmt.Sprintf("every node to hold topics %v", want), func() bool {
		for _, c := range tc.nodes {
			if !slices.Equal(topicNames(c.store), want) {
				return false
			}
		}
		return true
	})
}

func TestNodeBootstrapJoinAndPromote(t *testing.T) {
	tc := newTestCluster(t, 3, nil)
	l := tc.leader(10 * time.Second)
	if l.id != 1 {
		t.Fatalf("leader is node %d, want the bootstrap node 1", l.id)
	}
	tc.voters(3)
	ms := l.node.Members()
	if len(ms) != 3 {
		t.Fatalf("members %+v, want 3", ms)
	}
	for _, m := range ms {
		want := StateFollower
		if m.ID == 1 {
			want = StateLeader
		}
		if m.State != want || !m.Voter {
			t.Errorf("member %d: state %s voter %v, want %s voter", m.ID, m.State, m.Voter, want)
		}
		if m.KafkaPort != int32(9000+m.ID) || m.UUID == "" {
			t.Errorf("member %d: record %+v lacks its kafka address or uuid", m.ID, m.NodeInfo)
		}
	}
	// Every node sees the same membership.
	for _, c := range tc.nodes {
		waitFor(t, 10*time.Second, fmt.Sprintf("node %d to see 3 members", c.id), func() bool { return len(c.node.State().Nodes) == 3 })
		if h, size, _, _ := c.node.Status().Health(); h != "healthy" || size != 3 {
			t.Errorf("node %d health %s size %d, want healthy 3", c.id, h, size)
		}
	}
}

// TestNodeMetadataFromAnyNode: topic creation and group offsets proposed on followers go
// through the leader and every node applies them in the same order.
func TestNodeMetadataFromAnyNode(t *testing.T) {
	tc := newTestCluster(t, 3, nil)
	l := tc.leader(10 * time.Second)
	ctx := context.Background()
	var want []string
	for i, c := range tc.nodes {
		name := fmt.Sprintf("topic-%d", i)
		if _, err := c.store.CreateTopic(ctx, name, 3, 3, nil); err != nil {
			t.Fatalf("create %s on node %d: %v", name, c.id, err)
		}
		// Read-your-writes on the proposing node.
		if _, ok := c.store.Topic(name); !ok {
			t.Fatalf("node %d does not see the topic it just created", c.id)
		}
		want = append(want, name)
	}
	tc.sameTopics(want)
	f := tc.others(l)[0]
	if _, err := f.store.CreateTopic(ctx, "topic-0", 1, 1, nil); err == nil {
		t.Fatal("creating an existing topic through a follower succeeded")
	}
	if err := f.store.CommitOffsets(ctx, "g", []meta.OffsetCommit{{Topic: "topic-0", Partition: 1, Offset: 42}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range tc.nodes {
		waitFor(t, 10*time.Second, fmt.Sprintf("node %d to see the committed offset", c.id), func() bool {
			o, ok := c.store.FetchOffset("g", "topic-0", 1)
			return ok && o.Offset == 42
		})
	}
	if err := tc.nodes[2].store.DeleteTopic(ctx, "topic-1"); err != nil {
		t.Fatal(err)
	}
	tc.sameTopics([]string{"topic-0", "topic-2"})
}

// TestNodeLeaderIsolation: the isolated metadata leader steps down; the others elect a new one
// that accepts metadata changes; the old leader's proposal fails; after healing every node
// holds the same metadata.
func TestNodeLeaderIsolation(t *testing.T) {
	tc := newTestCluster(t, 3, nil)
	tc.voters(3)
	old := tc.leader(10 * time.Second)
	ctx := context.Background()
	if _, err := old.store.CreateTopic(ctx, "before", 1, 1, nil); err != nil {
		t.Fatal(err)
	}
	tc.faults.Isolate(raftAddr(old))
	waitFor(t, 10*time.Second, "the isolated leader to step down", func() bool { return !old.node.IsLeader() })
	nl := tc.leader(10*time.Second, tc.others(old)...)
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err := old.store.CreateTopic(sctx, "lost", 1, 1, nil)
	cancel()
	if err == nil {
		t.Fatal("the isolated old leader created a topic")
	}
	if _, err := nl.store.CreateTopic(ctx, "after", 1, 1, nil); err != nil {
		t.Fatal(err)
	}
	f := tc.others(old)
	if _, err := f[0].store.CreateTopic(ctx, "after2", 1, 1, nil); err != nil {
		t.Fatal(err)
	}
	tc.faults.Heal()
	tc.sameTopics([]string{"after", "after2", "before"})
	tc.leader(10 * time.Second)
}

// TestNodeRestartRejoins: a follower restarted on its data directory comes back with its Raft
// state (no join) and catches up on what it missed.
func TestNodeRestartRejoins(t *testing.T) {
	tc := newTestCluster(t, 3, nil)
	tc.voters(3)
	l := tc.leader(10 * time.Second)
	f := tc.others(l)[0]
	f.stop()
	if _, err := l.store.CreateTopic(context.Background(), "while-down", 1, 1, nil); err != nil {
		t.Fatal(err)
	}
	f.start(nil)
	tc.sameTopics([]string{"while-down"})
	tc.voters(3)
}

// TestNodeWipedDiskRefused: a node whose disk was wiped cannot join under its old id until it
// is removed; after POST /admin/cluster/remove (RemoveNode) it can.
func TestNodeWipedDiskRefused(t *testing.T) {
	tc := newTestCluster(t, 3, nil)
	tc.voters(3)
	l := tc.leader(10 * time.Second)
	victim := tc.others(l)[1]
	victim.stop()
	victim.dir = t.TempDir()
	victim.seeds = []Seed{{ID: l.id, Addr: l.addr}}
	victim.start(nil)
	var err error
	select {
	case err = <-victim.node.Fatal():
	case <-time.After(20 * time.Second):
		t.Fatal("the wiped node was not refused")
	}
	var conflict *ErrNodeConflict
	if !errors.As(err, &conflict) || conflict.ID != victim.id {
		t.Fatalf("refusal %v, want ErrNodeConflict for node %d", err, victim.id)
	}
	want := fmt.Sprintf("node %d is already a member of the cluster: remove it first (POST /admin/cluster/remove)", victim.id)
	if got := conflict.Error(); got != want {
		t.Fatalf("refusal %q, want %q", got, want)
	}
	victim.stop()
	if err := tc.nodes[0].node.RemoveNode(context.Background(), victim.id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the removal to reach every node", func() bool {
		for _, c := range tc.others(victim) {
			if _, ok := c.node.State().Nodes[victim.id]; ok {
				return false
			}
		}
		return true
	})
	victim.dir = t.TempDir()
	victim.start(nil)
	waitFor(t, 20*time.Second, "the wiped node to join after its removal", func() bool {
		select {
		case <-victim.node.Joined():
			return true
		default:
			return false
		}
	})
	tc.voters(3)
}

func raftAddr(c *clusterNode) raft.ServerAddress { return raft.ServerAddress(c.addr) }

// TestNodeTransferLeadership: asked on a follower, the metadata leadership moves to the
// requested voter.
func TestNodeTransferLeadership(t *testing.T) {
	tc := newTestCluster(t, 3, nil)
	tc.voters(3)
	l := tc.leader(10 * time.Second)
	var target *clusterNode
	for _, c := range tc.others(l) {
		target = c
	}
	asker := tc.others(l)[0]
	got, err := asker.node.TransferLeadership(context.Background(), target.id)
	if err != nil {
		t.Fatal(err)
	}
	if got != target.id {
		t.Fatalf("new leader %d, want %d", got, target.id)
	}
	if nl := tc.leader(10 * time.Second); nl != target {
		t.Fatalf("leader is node %d, want %d", nl.id, target.id)
	}
}

// TestNodeConflictingLeader: a node that bootstrapped a cluster of its own and is restarted with
// seeds of another cluster stops with ConflictingLeader instead of leading next to it.
func TestNodeConflictingLeader(t *testing.T) {
	a := newTestCluster(t, 1, nil)
	stray := newClusterNode(t, 2, t.TempDir(), nil, a.faults, nil) // bootstraps its own cluster
	waitFor(t, 10*time.Second, "the stray node to lead its own cluster", func() bool { return stray.node.IsLeader() })
	stray.stop()
	stray.seeds = []Seed{{ID: 1, Addr: a.nodes[0].addr}}
	stray.start(nil)
	select {
	case err := <-stray.node.Fatal():
		if !strings.Contains(err.Error(), "Node 2 failed to join cluster: ConflictingLeader") {
			t.Fatalf("fatal error %q, want ConflictingLeader", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the stray node did not detect the conflicting cluster")
	}
}
