package node

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/chronik-stream/chronik/api/consolepb"
	"github.com/chronik-stream/chronik/broker/console"
)

// In cluster mode the console's Migration tab shows every member's WAL format, not only the
// answering node's: peerMigrations asks each other member's console API (MigrationProgress, on
// the same node address as Raft) in the background and keeps the answers, so that the
// console's Source.Migration never waits on the network.

const (
	peerMigrationEvery   = 5 * time.Second
	peerMigrationTimeout = 2 * time.Second
)

// peerMigrations caches the other members' WAL migration states; run owns the connections.
type peerMigrations struct {
	n *Node

	mu    sync.Mutex
	cache map[uint64]console.MigrationNode
}

func newPeerMigrations(n *Node) *peerMigrations {
	return &peerMigrations{n: n, cache: map[uint64]console.MigrationNode{}}
}

// get returns the cached states of the other members, sorted by node id.
func (p *peerMigrations) get() []console.MigrationNode {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]console.MigrationNode, 0, len(p.cache))
	for _, id := range slices.Sorted(maps.Keys(p.cache)) {
		out = append(out, p.cache[id])
	}
	return out
}

// run refreshes the cache every peerMigrationEvery until ctx is done (cluster mode only).
func (p *peerMigrations) run(ctx context.Context) {
	if p.n.cluster == nil {
		return
	}
	conns := map[string]*grpc.ClientConn{}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	self := uint64(p.n.cfg.KafkaNodeID())
	t := time.NewTicker(peerMigrationEvery)
	defer t.Stop()
	for {
		members := p.n.cluster.Status().Members()
		next := make(map[uint64]console.MigrationNode, len(members))
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, m := range members {
			if m.NodeID == self || m.Addr == "" {
				continue
			}
			c, ok := conns[m.Addr]
			if !ok {
				var err error
				if c, err = grpc.NewClient(m.Addr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
					next[m.NodeID] = unknownMigration(m.NodeID, err)
					continue
				}
				conns[m.Addr] = c
			}
			wg.Go(func() {
				st := askMigration(ctx, consolepb.NewConsoleServiceClient(c), m.NodeID)
				mu.Lock()
				next[m.NodeID] = st
				mu.Unlock()
			})
		}
		wg.Wait()
		p.mu.Lock()
		p.cache = next
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// askMigration asks one member for its own migration state.
func askMigration(ctx context.Context, c consolepb.ConsoleServiceClient, id uint64) console.MigrationNode {
	ctx, cancel := context.WithTimeout(ctx, peerMigrationTimeout)
	defer cancel()
	resp, err := c.MigrationProgress(ctx, &consolepb.MigrationProgressRequest{})
	if err != nil {
		return unknownMigration(id, err)
	}
	for _, m := range resp.GetNodes() {
		if m.GetNodeId() == id {
			return console.MigrationNode{NodeID: id, SegmentsV3: m.GetSegmentsV3(), Total: m.GetSegmentsTotal(), State: m.GetState(), Detail: m.GetDetail()}
		}
	}
	return unknownMigration(id, fmt.Errorf("its answer has no entry for node %d", id))
}

func unknownMigration(id uint64, err error) console.MigrationNode {
	return console.MigrationNode{NodeID: id, State: "unknown", Detail: fmt.Sprintf("not asked: %v", err)}
}
