package raftstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"

	pb "github.com/chronik-stream/chronik/raftstore/raftpb"
)

// pipeline is a raft.AppendPipeline over one bidirectional gRPC stream on the bulk connection.
// At most MaxInFlight requests are unanswered (AppendEntries blocks beyond that: back-pressure);
// the server answers in order, and futures are delivered to Consumer in request order. Any stream
// error, injected fault or overdue response fails the pipeline: the remaining futures complete with
// the error and raft falls back to plain AppendEntries.
//
// Goroutines: receive (reads responses, the only one that completes and delivers futures) and
// watchdog (cancels the stream when the oldest request is past its deadline). Close stops and
// waits for both.
type pipeline struct {
	t      *GroupTransport
	target raft.ServerAddress
	ctx    context.Context
	cancel context.CancelFunc
	stream grpc.BidiStreamingClient[pb.AppendEntriesRequest, pb.AppendEntriesResponse]

	sem    chan struct{} // one token per request sent and not yet answered
	doneCh chan raft.AppendFuture
	closed chan struct{}

	sendMu sync.Mutex // serialises AppendEntries (sends and queue order)

	mu     sync.Mutex
	queue  []*inflight // sent, unanswered, in send order
	failed error

	closeOnce sync.Once
	wg        sync.WaitGroup
}

type inflight struct {
	f            *appendFuture
	deadline     time.Time
	last         bool // last part of f's request
	dropResponse bool // injected fault: lose this response
}

func newPipeline(t *GroupTransport, target raft.ServerAddress) (*pipeline, error) {
	conns, err := t.n.conns(target)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(t.ctx)
	// Opening the stream waits for a connection; bound that wait without putting a deadline on
	// the long-lived stream itself.
	timer := time.AfterFunc(t.n.cfg.Deadlines.Append, cancel)
	stream, err := conns.bulkClient.AppendEntriesPipeline(ctx)
	if !timer.Stop() && err == nil {
		err = fmt.Errorf("opening pipeline: %w", context.DeadlineExceeded)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	inFlight := t.n.cfg.MaxInFlight
	p := &pipeline{
		t:      t,
		target: target,
		ctx:    ctx,
		cancel: cancel,
		stream: stream,
		sem:    make(chan struct{}, inFlight),
		doneCh: make(chan raft.AppendFuture, inFlight),
		closed: make(chan struct{}),
	}
	p.wg.Add(2)
	go p.receive()
	go p.watchdog()
	return p, nil
}

// AppendEntries implements raft.AppendPipeline.
func (p *pipeline) AppendEntries(args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) (raft.AppendFuture, error) {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	if err := p.err(); err != nil {
		return nil, err
	}
	d := p.t.n.cfg.Deadlines
	v := p.t.n.cfg.Faults.decide(p.t.n.cfg.LocalAddr, p.target, "AppendEntriesPipeline")
	if err := v.before(p.ctx); err != nil {
		p.fail(err)
		return nil, p.t.errorf("AppendEntriesPipeline", p.target, err)
	}
	parts, err := splitAppend(appendReqToPB(p.t.group, args), p.t.n.splitBytes)
	if err != nil {
		return nil, p.t.errorf("AppendEntriesPipeline", p.target, err)
	}
	f := &appendFuture{start: time.Now(), req: args, resp: resp, done: make(chan struct{})}
	for _, part := range parts {
		select {
		case p.sem <- struct{}{}:
		case <-p.ctx.Done():
			return nil, p.errOr(context.Cause(p.ctx))
		}
		p.mu.Lock()
		if p.failed != nil {
			p.mu.Unlock()
			<-p.sem
			return nil, p.errOr(nil)
		}
		p.queue = append(p.queue, &inflight{
			f:            f,
			deadline:     time.Now().Add(d.scaled(d.Append, int64(part.size))),
			last:         part.last,
			dropResponse: part.last && v.dropResponse,
		})
		p.mu.Unlock()
		if err := p.stream.Send(part.msg); err != nil {
			p.fail(err)
			return nil, p.t.errorf("AppendEntriesPipeline", p.target, err)
		}
	}
	return f, nil
}

// Consumer implements raft.AppendPipeline.
func (p *pipeline) Consumer() <-chan raft.AppendFuture { return p.doneCh }

// Close implements raft.AppendPipeline: it cancels the stream, fails the requests in flight and
// waits for the pipeline's goroutines.
func (p *pipeline) Close() error {
	p.closeOnce.Do(func() {
		close(p.closed)
		p.fail(raft.ErrPipelineShutdown)
		p.wg.Wait()
		p.t.forgetPipeline(p)
	})
	return nil
}

// fail records the first failure and cancels the stream; receive then completes what is queued.
func (p *pipeline) fail(err error) {
	p.mu.Lock()
	if p.failed == nil {
		p.failed = err
	}
	p.mu.Unlock()
	p.cancel()
}

func (p *pipeline) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed == nil {
		return nil
	}
	return p.errOrLocked(nil)
}

func (p *pipeline) errOr(fallback error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errOrLocked(fallback)
}

func (p *pipeline) errOrLocked(fallback error) error {
	err := p.failed
	if err == nil {
		err = fallback
	}
	if errors.Is(err, raft.ErrPipelineShutdown) {
		return raft.ErrPipelineShutdown
	}
	return p.t.errorf("AppendEntriesPipeline", p.target, err)
}

func (p *pipeline) receive() {
	defer p.wg.Done()
	for {
		m, err := p.stream.Recv()
		if err != nil {
			p.fail(err)
			p.drain()
			return
		}
		f, ok := p.onResponse(m)
		if !ok {
			p.drain()
			return
		}
		if f != nil && !p.deliver(f) {
			p.drain()
			return
		}
	}
}

// onResponse matches m with the oldest request in flight. It returns the future to deliver when
// m answered the last part of a request, and false when the pipeline must stop.
func (p *pipeline) onResponse(m *pb.AppendEntriesResponse) (*appendFuture, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 {
		if p.failed == nil {
			p.failed = errors.New("response without a request in flight")
		}
		p.cancel()
		return nil, false
	}
	in := p.queue[0]
	p.queue[0] = nil
	p.queue = p.queue[1:]
	<-p.sem
	f := in.f
	switch {
	case f.err != nil || f.partFailed:
		// an earlier part already decided the outcome
	case m.GetError() != "":
		f.err = errors.New(m.GetError())
	default:
		*f.resp = appendRespFromPB(m)
		f.partFailed = !f.resp.Success || f.resp.Term > f.req.Term
	}
	if !in.last {
		return nil, true
	}
	if in.dropResponse {
		err := fmt.Errorf("response dropped: %w", ErrInjectedFault)
		f.err = err
		if p.failed == nil {
			p.failed = err
		}
		p.cancel()
	}
	close(f.done)
	return f, true
}

// drain completes every queued future with the pipeline's error, delivering them in order until
// Close.
func (p *pipeline) drain() {
	p.mu.Lock()
	err := p.errOrLocked(context.Canceled)
	var fs []*appendFuture
	for _, in := range p.queue {
		if in.last {
			in.f.err = err
			close(in.f.done)
			fs = append(fs, in.f)
		}
	}
	p.queue = nil
	p.mu.Unlock()
	for _, f := range fs {
		if !p.deliver(f) {
			return
		}
	}
}

func (p *pipeline) deliver(f *appendFuture) bool {
	select {
	case p.doneCh <- f:
		return true
	case <-p.closed:
		return false
	}
}

func (p *pipeline) watchdog() {
	defer p.wg.Done()
	every := max(p.t.n.cfg.Deadlines.Append/4, 5*time.Millisecond)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case now := <-tick.C:
			p.mu.Lock()
			late := len(p.queue) > 0 && now.After(p.queue[0].deadline)
			p.mu.Unlock()
			if late {
				p.fail(fmt.Errorf("no response within the deadline: %w", context.DeadlineExceeded))
				return
			}
		}
	}
}

// appendFuture is a raft.AppendFuture. Its fields are written under pipeline.mu before done is
// closed and read by raft only after that.
type appendFuture struct {
	start      time.Time
	req        *raft.AppendEntriesRequest
	resp       *raft.AppendEntriesResponse
	err        error
	partFailed bool
	done       chan struct{}
}

func (f *appendFuture) Error() error                          { <-f.done; return f.err }
func (f *appendFuture) Start() time.Time                      { return f.start }
func (f *appendFuture) Request() *raft.AppendEntriesRequest   { return f.req }
func (f *appendFuture) Response() *raft.AppendEntriesResponse { return f.resp }
