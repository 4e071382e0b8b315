package raftstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Faults injects network faults into the client side of the transport, for tests. Share one
// Faults between the Networks of a test cluster (NetworkConfig.Faults); it decides per message
// from the sender's and the target's addresses. A nil *Faults injects nothing.
//
// A call from A to B is dropped before sending when the link A→B is down (Isolate, Block) or by
// chance (SetDropRate); it is delivered but its response lost when B→A is down or by chance (the
// caller sees an error and cannot know whether B acted). Delays are added before sending.
// In a pipeline stream any drop fails the whole stream, as a lost TCP segment would.
// Dropped calls fail immediately with an error wrapping ErrInjectedFault.
type Faults struct {
	mu       sync.Mutex
	rng      *rand.Rand
	dropRate float64
	delayMin time.Duration
	delayMax time.Duration
	isolated map[raft.ServerAddress]bool
	blocked  map[link]bool
	dropped  map[dropKey]int64
}

type link struct{ from, to raft.ServerAddress }

type dropKey struct {
	from raft.ServerAddress
	rpc  string
}

// NewFaults returns a Faults with no fault active; seed makes the random drops reproducible.
func NewFaults(seed uint64) *Faults {
	return &Faults{
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		isolated: make(map[raft.ServerAddress]bool),
		blocked:  make(map[link]bool),
		dropped:  make(map[dropKey]int64),
	}
}

// SetDropRate makes every request and every response lost with probability p (0 ≤ p ≤ 1).
func (f *Faults) SetDropRate(p float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropRate = min(max(p, 0), 1)
}

// SetDelay delays every call by a uniformly random duration in [lo, hi].
func (f *Faults) SetDelay(lo, hi time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delayMin, f.delayMax = lo, max(lo, hi)
}

// Isolate partitions each node from every other node, both ways.
func (f *Faults) Isolate(nodes ...raft.ServerAddress) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range nodes {
		f.isolated[n] = true
	}
}

// Block cuts the link from → to only (a one-way partition): messages from `from` to `to` are
// lost, messages from `to` to `from` still arrive.
func (f *Faults) Block(from, to raft.ServerAddress) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blocked[link{from, to}] = true
}

// Heal removes every partition (Isolate, Block); drop rate and delay stay.
func (f *Faults) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.isolated)
	clear(f.blocked)
}

// Reset removes every fault.
func (f *Faults) Reset() {
	f.Heal()
	f.SetDropRate(0)
	f.SetDelay(0, 0)
}

// Dropped counts the calls of one kind ("AppendEntries", "Heartbeat", "RequestVote",
// "RequestPreVote", "TimeoutNow", "InstallSnapshot", "AppendEntriesPipeline"; "" = all) sent by
// `from` whose request or response was dropped.
func (f *Faults) Dropped(from raft.ServerAddress, rpc string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int64
	for k, c := range f.dropped {
		if k.from == from && (rpc == "" || k.rpc == rpc) {
			n += c
		}
	}
	return n
}

// verdict is the fate of one call.
type verdict struct {
	delay        time.Duration
	dropRequest  bool
	dropResponse bool
}

func (f *Faults) down(from, to raft.ServerAddress) bool {
	return f.isolated[from] || f.isolated[to] || f.blocked[link{from, to}]
}

func (f *Faults) decide(from, to raft.ServerAddress, rpc string) verdict {
	if f == nil {
		return verdict{}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var v verdict
	if f.delayMax > 0 {
		v.delay = f.delayMin + time.Duration(f.rng.Int64N(int64(f.delayMax-f.delayMin)+1))
	}
	v.dropRequest = f.down(from, to) || (f.dropRate > 0 && f.rng.Float64() < f.dropRate)
	v.dropResponse = !v.dropRequest && (f.down(to, from) || (f.dropRate > 0 && f.rng.Float64() < f.dropRate))
	if v.dropRequest || v.dropResponse {
		f.dropped[dropKey{from, rpc}]++
	}
	return v
}

// before applies the delay and the request drop of a verdict.
func (v verdict) before(ctx context.Context) error {
	if v.delay > 0 {
		t := time.NewTimer(v.delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		}
	}
	if v.dropRequest {
		return fmt.Errorf("request dropped: %w", ErrInjectedFault)
	}
	return nil
}
