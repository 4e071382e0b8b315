package groups

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// timers is a deadline heap. Callbacks run on the goroutine executing run (Coordinator.Run),
// one at a time, without the heap lock held; each callback re-checks, under its group's
// lock, whether it is still relevant, so stale entries are harmless no-ops.
type timers struct {
	mu      sync.Mutex
	entries timerHeap
	wake    chan struct{} // buffered 1: the earliest deadline changed
}

type timerEntry struct {
	at time.Time
	fn func()
}

type timerHeap []timerEntry

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timerEntry)) }
func (h *timerHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = timerEntry{}
	*h = old[:len(old)-1]
	return e
}

func newTimers() *timers { return &timers{wake: make(chan struct{}, 1)} }

// at schedules fn to run at (or soon after) t.
func (ts *timers) at(t time.Time, fn func()) {
	ts.mu.Lock()
	heap.Push(&ts.entries, timerEntry{at: t, fn: fn})
	earliest := ts.entries[0].at.Equal(t)
	ts.mu.Unlock()
	if earliest {
		select {
		case ts.wake <- struct{}{}:
		default:
		}
	}
}

// due pops every entry whose deadline has passed and reports the next deadline.
func (ts *timers) due(now time.Time) (fns []func(), next time.Time, ok bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for len(ts.entries) > 0 && !ts.entries[0].at.After(now) {
		fns = append(fns, heap.Pop(&ts.entries).(timerEntry).fn)
	}
	if len(ts.entries) > 0 {
		return fns, ts.entries[0].at, true
	}
	return fns, time.Time{}, false
}

func (ts *timers) len() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.entries)
}

// run fires deadlines until ctx is done or stop is closed.
func (ts *timers) run(ctx context.Context, stop <-chan struct{}) {
	const idle = time.Hour
	t := time.NewTimer(idle)
	defer t.Stop()
	for {
		fns, next, ok := ts.due(time.Now())
		for _, fn := range fns {
			fn()
		}
		if len(fns) > 0 {
			continue // callbacks may have scheduled already-due entries
		}
		wait := idle
		if ok {
			wait = max(time.Until(next), 0)
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-ts.wake:
		case <-t.C:
		}
	}
}
