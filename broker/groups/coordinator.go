package groups

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Coordinator is the classic consumer-group coordinator. Create it with NewCoordinator, serve
// its deadlines with Run and release it with Close. All methods are safe for concurrent use.
type Coordinator struct {
	cfg    Config
	store  Store
	log    *slog.Logger
	timers *timers
	met    *metrics

	mu     sync.RWMutex // guards groups, closed and runs; never held while locking a group
	groups map[string]*group
	closed bool
	runs   sync.WaitGroup

	done      chan struct{}      // closed by Close
	ctx       context.Context    // for store writes not tied to one request; canceled by Close
	cancel    context.CancelFunc //
	closeOnce sync.Once
}

// NewCoordinator returns a coordinator serving the groups recorded in store. Deviation from
// the contract: store is the Store interface (satisfied by *meta.Store) instead of *meta.Store.
// logger may be nil; reg may be nil (no metrics registered).
func NewCoordinator(cfg Config, store Store, logger *slog.Logger, reg prometheus.Registerer) *Coordinator {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Coordinator{
		cfg:    cfg.withDefaults(),
		store:  store,
		log:    logger,
		timers: newTimers(),
		groups: make(map[string]*group),
		done:   make(chan struct{}),
		ctx:    ctx,
		cancel: cancel,
	}
	c.met = newMetrics(c, reg, logger)
	c.recover()
	return c
}

// Run serves session, rebalance and pending-member deadlines until ctx is done or Close is
// called. Without a running Run no deadline fires.
func (c *Coordinator) Run(ctx context.Context) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.runs.Add(1)
	c.mu.Unlock()
	defer c.runs.Done()
	c.timers.run(ctx, c.done)
}

// Close stops Run, releases blocked JoinGroup and SyncGroup calls with NOT_COORDINATOR and
// makes every later call answer NOT_COORDINATOR (COORDINATOR_NOT_AVAILABLE for ListGroups).
// It waits for Run to return. The store is not closed.
func (c *Coordinator) Close() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		close(c.done)
		c.cancel()
		c.runs.Wait()
	})
}

func (c *Coordinator) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// GroupCount reports how many groups are in each state (Empty, PreparingRebalance,
// CompletingRebalance, Stable); every state is present, possibly with 0.
func (c *Coordinator) GroupCount() map[string]int {
	counts := map[string]int{
		stateEmpty.String():               0,
		statePreparingRebalance.String():  0,
		stateCompletingRebalance.String(): 0,
		stateStable.String():              0,
	}
	for _, g := range c.snapshot() {
		g.mu.Lock()
		if g.state != stateDead {
			counts[g.state.String()]++
		}
		g.mu.Unlock()
	}
	return counts
}

// lookup returns the live group called name, or nil.
func (c *Coordinator) lookup(name string) *group {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.groups[name]
}

// lookupOrCreate returns the group called name, creating an Empty one if needed.
func (c *Coordinator) lookupOrCreate(name string) *group {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.groups[name]
	if !ok {
		g = newGroup(name)
		c.groups[name] = g
	}
	return g
}

// snapshot returns every group, sorted by name.
func (c *Coordinator) snapshot() []*group {
	c.mu.RLock()
	gs := make([]*group, 0, len(c.groups))
	for _, g := range c.groups {
		gs = append(gs, g)
	}
	c.mu.RUnlock()
	slices.SortFunc(gs, func(a, b *group) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	return gs
}

// lockLive locks and returns the live group called name (creating it when create is set).
// It returns nil when the group does not exist and create is false.
func (c *Coordinator) lockLive(name string, create bool) *group {
	for {
		var g *group
		if create {
			g = c.lookupOrCreate(name)
		} else if g = c.lookup(name); g == nil {
			return nil
		}
		g.mu.Lock()
		if g.state != stateDead {
			return g
		}
		g.mu.Unlock() // deleted concurrently: it is gone from the map, look again
	}
}

// dropLocked marks g Dead and removes it from the map. g.mu must be held.
func (c *Coordinator) dropLocked(g *group) {
	g.state = stateDead
	c.mu.Lock()
	if c.groups[g.name] == g {
		delete(c.groups, g.name)
	}
	c.mu.Unlock()
}

// maybeDropLocked forgets a group that holds nothing: no members, no pending members, never
// persisted and no committed offsets (e.g. created by a JoinGroup that failed). g.mu held.
func (c *Coordinator) maybeDropLocked(g *group) {
	if g.state != stateEmpty || len(g.members) > 0 || len(g.pending) > 0 || g.persisted {
		return
	}
	if len(c.store.GroupOffsets(g.name)) > 0 {
		return
	}
	c.dropLocked(g)
}

// newMemberID returns prefix-<uuid v4>.
func newMemberID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%s-%x-%x-%x-%x-%x", prefix, b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func ms(v int32) time.Duration { return time.Duration(v) * time.Millisecond }
