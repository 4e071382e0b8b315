package tui

import (
	"context"
	"fmt"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// stateMsg is one ClusterState from stream gen.
type stateMsg struct {
	gen   int
	state *consolepb.ClusterState
	at    time.Time
}

// streamClosedMsg: stream gen ended with err.
type streamClosedMsg struct {
	gen int
	err error
}

// reconnectMsg asks for a new stream if gen is still the current one.
type reconnectMsg struct{ gen int }

// watch is one WatchCluster stream: a goroutine receives states and sends them on ch; it closes
// ch when the stream ends (err says why). The goroutine's owner is the session: stop cancels
// and waits for it.
type watch struct {
	gen    int
	ch     chan stateMsg
	cancel context.CancelFunc
	done   chan struct{}
	err    error // valid once ch is closed
}

// startWatch opens a stream on c. A stream silent for longer than stale (3 heartbeats) is
// ended as dead.
func startWatch(parent context.Context, c *Client, gen int, stale time.Duration, now func() time.Time) *watch {
	ctx, cancel := context.WithCancel(parent)
	w := &watch{gen: gen, ch: make(chan stateMsg), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer close(w.ch)
		w.err = w.run(ctx, c, stale, now)
	}()
	return w
}

func (w *watch) run(ctx context.Context, c *Client, stale time.Duration, now func() time.Time) error {
	stream, err := c.Watch(ctx)
	if err != nil {
		return err
	}
	// The watchdog cancels the stream when no message arrived for `stale`.
	alive := make(chan struct{}, 1)
	var timedOut bool
	var wdMu sync.Mutex
	wdDone := make(chan struct{})
	go func() {
		defer close(wdDone)
		t := time.NewTimer(stale)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-alive:
				t.Reset(stale)
			case <-t.C:
				wdMu.Lock()
				timedOut = true
				wdMu.Unlock()
				w.cancel()
				return
			}
		}
	}()
	defer func() { w.cancel(); <-wdDone }()
	for {
		st, err := stream.Recv()
		if err != nil {
			wdMu.Lock()
			defer wdMu.Unlock()
			if timedOut {
				return fmt.Errorf("no message from the node for %s", stale)
			}
			return err
		}
		select {
		case alive <- struct{}{}:
		default:
		}
		select {
		case w.ch <- stateMsg{gen: w.gen, state: st, at: now()}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// next is the UI's one pending receive: the next state, or streamClosedMsg once ch is closed.
func (w *watch) next() tea.Cmd {
	return func() tea.Msg {
		m, ok := <-w.ch
		if !ok {
			return streamClosedMsg{gen: w.gen, err: w.err}
		}
		return m
	}
}

func (w *watch) stop() {
	w.cancel()
	<-w.done
}

// session owns the client, the current stream and the context of running calls; it is shared
// by every copy of the Model.
type session struct {
	client *Client
	ctx    context.Context
	cancel context.CancelFunc
	stale  time.Duration
	now    func() time.Time

	mu    sync.Mutex
	watch *watch
	gen   int
}

func newSession(c *Client, stale time.Duration, now func() time.Time) *session {
	ctx, cancel := context.WithCancel(context.Background())
	return &session{client: c, ctx: ctx, cancel: cancel, stale: stale, now: now}
}

// connect stops the current stream (if any) and starts a new one; it returns the new
// generation and the Cmd waiting for its first message.
func (s *session) connect() (int, tea.Cmd) {
	s.mu.Lock()
	old := s.watch
	s.gen++
	gen := s.gen
	s.watch = nil
	s.mu.Unlock()
	if old != nil {
		old.stop()
	}
	if s.ctx.Err() != nil {
		return gen, nil
	}
	w := startWatch(s.ctx, s.client, gen, s.stale, s.now)
	s.mu.Lock()
	s.watch = w
	s.mu.Unlock()
	return gen, w.next()
}

// next re-issues the receive of stream gen (nil if gen is no longer current).
func (s *session) next(gen int) tea.Cmd {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watch == nil || s.watch.gen != gen {
		return nil
	}
	return s.watch.next()
}

// close cancels running calls and stops the stream, waiting for its goroutine.
func (s *session) close() {
	s.cancel()
	s.mu.Lock()
	w := s.watch
	s.watch = nil
	s.mu.Unlock()
	if w != nil {
		w.stop()
	}
}
