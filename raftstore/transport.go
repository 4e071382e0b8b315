package raftstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	pb "github.com/chronik-stream/chronik/raftstore/raftpb"
)

// GroupTransport is one Raft group's view of the node's Network: a raft.Transport (with
// raft.WithPreVote and raft.WithClose) whose calls carry the group id and whose Consumer receives
// only this group's incoming calls. All views of a node share LocalAddr and the peer connections.
type GroupTransport struct {
	n         *Network
	group     string
	consumeCh chan raft.RPC
	// ctx is cancelled by Close: it aborts outgoing calls and unblocks incoming ones.
	ctx    context.Context
	cancel context.CancelFunc

	hbMu sync.Mutex
	hbFn func(raft.RPC)

	mu        sync.Mutex
	closed    bool
	pipelines map[*pipeline]struct{}
}

var (
	_ raft.Transport   = (*GroupTransport)(nil)
	_ raft.WithPreVote = (*GroupTransport)(nil)
	_ raft.WithClose   = (*GroupTransport)(nil)
)

// Group is the group id this view serves.
func (t *GroupTransport) Group() string { return t.group }

// Consumer implements raft.Transport.
func (t *GroupTransport) Consumer() <-chan raft.RPC { return t.consumeCh }

// LocalAddr implements raft.Transport.
func (t *GroupTransport) LocalAddr() raft.ServerAddress { return t.n.cfg.LocalAddr }

// EncodePeer implements raft.Transport.
func (t *GroupTransport) EncodePeer(_ raft.ServerID, addr raft.ServerAddress) []byte {
	return []byte(addr)
}

// DecodePeer implements raft.Transport.
func (t *GroupTransport) DecodePeer(b []byte) raft.ServerAddress { return raft.ServerAddress(b) }

// SetHeartbeatHandler implements raft.Transport: incoming heartbeats go to cb directly instead
// of the Consumer channel, so they are never stuck behind an fsync on raft's main loop.
func (t *GroupTransport) SetHeartbeatHandler(cb func(rpc raft.RPC)) {
	t.hbMu.Lock()
	defer t.hbMu.Unlock()
	t.hbFn = cb
}

func (t *GroupTransport) heartbeatHandler() func(raft.RPC) {
	t.hbMu.Lock()
	defer t.hbMu.Unlock()
	return t.hbFn
}

// Close implements raft.WithClose: it aborts this group's calls and pipelines and unregisters the
// group from the Network. Shared peer connections stay open (Network.Close closes them).
func (t *GroupTransport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	ps := t.pipelines
	t.pipelines = nil
	t.mu.Unlock()

	t.cancel()
	for p := range ps {
		_ = p.Close()
	}
	t.n.removeGroup(t)
	return nil
}

// markClosed makes a view that was created after its Network closed unusable.
func (t *GroupTransport) markClosed() {
	t.closed = true
	t.cancel()
}

func (t *GroupTransport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// ErrInjectedFault is wrapped by errors of calls that Faults dropped.
var ErrInjectedFault = errors.New("fault injected")

// call runs one unary call to target with a deadline, applying injected faults around it.
func (t *GroupTransport) call(target raft.ServerAddress, rpc string, control bool, timeout time.Duration,
	do func(ctx context.Context, c pb.RaftTransportClient) error) error {
	if t.isClosed() {
		return raft.ErrTransportShutdown
	}
	p, err := t.n.conns(target)
	if err != nil {
		return err
	}
	client := p.bulkClient
	if control {
		client = p.controlClient
	}
	ctx, cancel := context.WithTimeout(t.ctx, timeout)
	defer cancel()
	v := t.n.cfg.Faults.decide(t.n.cfg.LocalAddr, target, rpc)
	if err := v.before(ctx); err != nil {
		return t.errorf(rpc, target, err)
	}
	if err := do(ctx, client); err != nil {
		return t.errorf(rpc, target, err)
	}
	if v.dropResponse {
		return t.errorf(rpc, target, fmt.Errorf("response dropped: %w", ErrInjectedFault))
	}
	return nil
}

func (t *GroupTransport) errorf(rpc string, target raft.ServerAddress, err error) error {
	return fmt.Errorf("raft group %s: %s to %s: %w", t.group, rpc, target, err)
}

// AppendEntries implements raft.Transport. Heartbeats use the control connection and the
// heartbeat deadline; other appends use the bulk connection with a deadline scaled by size, and
// are split into several RPCs when larger than the message limit.
func (t *GroupTransport) AppendEntries(_ raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	d := t.n.cfg.Deadlines
	if isHeartbeat(args) {
		m := appendReqToPB(t.group, args)
		return t.call(target, "Heartbeat", true, d.Heartbeat, func(ctx context.Context, c pb.RaftTransportClient) error {
			out, err := c.AppendEntries(ctx, m)
			if err != nil {
				return err
			}
			*resp = appendRespFromPB(out)
			return nil
		})
	}
	parts, err := splitAppend(appendReqToPB(t.group, args), t.n.splitBytes)
	if err != nil {
		return t.errorf("AppendEntries", target, err)
	}
	for _, part := range parts {
		var out *pb.AppendEntriesResponse
		err := t.call(target, "AppendEntries", false, d.scaled(d.Append, int64(part.size)), func(ctx context.Context, c pb.RaftTransportClient) error {
			var err error
			out, err = c.AppendEntries(ctx, part.msg)
			return err
		})
		if err != nil {
			return err
		}
		*resp = appendRespFromPB(out)
		if !resp.Success || resp.Term > args.Term {
			return nil
		}
	}
	return nil
}

// RequestVote implements raft.Transport.
func (t *GroupTransport) RequestVote(_ raft.ServerID, target raft.ServerAddress, args *raft.RequestVoteRequest, resp *raft.RequestVoteResponse) error {
	m := voteReqToPB(t.group, args)
	return t.call(target, "RequestVote", true, t.n.cfg.Deadlines.Vote, func(ctx context.Context, c pb.RaftTransportClient) error {
		out, err := c.RequestVote(ctx, m)
		if err != nil {
			return err
		}
		*resp = voteRespFromPB(out)
		return nil
	})
}

// RequestPreVote implements raft.WithPreVote.
func (t *GroupTransport) RequestPreVote(_ raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	m := preVoteReqToPB(t.group, args)
	return t.call(target, "RequestPreVote", true, t.n.cfg.Deadlines.Vote, func(ctx context.Context, c pb.RaftTransportClient) error {
		out, err := c.RequestPreVote(ctx, m)
		if err != nil {
			return err
		}
		*resp = preVoteRespFromPB(out)
		return nil
	})
}

// TimeoutNow implements raft.Transport.
func (t *GroupTransport) TimeoutNow(_ raft.ServerID, target raft.ServerAddress, args *raft.TimeoutNowRequest, resp *raft.TimeoutNowResponse) error {
	m := timeoutNowReqToPB(t.group, args)
	return t.call(target, "TimeoutNow", true, t.n.cfg.Deadlines.Vote, func(ctx context.Context, c pb.RaftTransportClient) error {
		out, err := c.TimeoutNow(ctx, m)
		if err != nil {
			return err
		}
		*resp = timeoutNowRespFromPB(out)
		return nil
	})
}

// InstallSnapshot implements raft.Transport: one client stream on the bulk connection, the
// metadata first, then exactly args.Size bytes read from data in 1 MiB chunks. The deadline
// grows with the snapshot size.
func (t *GroupTransport) InstallSnapshot(_ raft.ServerID, target raft.ServerAddress, args *raft.InstallSnapshotRequest, resp *raft.InstallSnapshotResponse, data io.Reader) error {
	if args.Size < 0 {
		return t.errorf("InstallSnapshot", target, fmt.Errorf("negative snapshot size %d", args.Size))
	}
	d := t.n.cfg.Deadlines
	meta := snapshotReqToPB(t.group, args)
	return t.call(target, "InstallSnapshot", false, d.scaled(d.Snapshot, args.Size), func(ctx context.Context, c pb.RaftTransportClient) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel() // aborts the stream on every early return
		stream, err := c.InstallSnapshot(ctx)
		if err != nil {
			return err
		}
		if err := stream.Send(&pb.InstallSnapshotChunk{Group: t.group, Payload: &pb.InstallSnapshotChunk_Metadata{Metadata: meta}}); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		buf := make([]byte, min(int64(snapshotChunkSize), args.Size))
		for sent := int64(0); sent < args.Size; {
			n, err := io.ReadFull(data, buf[:min(int64(len(buf)), args.Size-sent)])
			if err != nil {
				return fmt.Errorf("reading snapshot at byte %d of %d: %w", sent, args.Size, err)
			}
			// Send serialises the message before returning, so buf can be reused.
			if err := stream.Send(&pb.InstallSnapshotChunk{Group: t.group, Payload: &pb.InstallSnapshotChunk_Data{Data: buf[:n]}}); err != nil {
				if errors.Is(err, io.EOF) {
					break // the receiver ended the call early: CloseAndRecv has its answer
				}
				return err
			}
			sent += int64(n)
		}
		out, err := stream.CloseAndRecv()
		if err != nil {
			return err
		}
		*resp = snapshotRespFromPB(out)
		return nil
	})
}

// AppendEntriesPipeline implements raft.Transport. It returns
// raft.ErrPipelineReplicationNotSupported when the pipeline is disabled.
func (t *GroupTransport) AppendEntriesPipeline(_ raft.ServerID, target raft.ServerAddress) (raft.AppendPipeline, error) {
	if !t.n.cfg.EnablePipeline {
		return nil, raft.ErrPipelineReplicationNotSupported
	}
	if t.isClosed() {
		return nil, raft.ErrTransportShutdown
	}
	p, err := newPipeline(t, target)
	if err != nil {
		return nil, t.errorf("AppendEntriesPipeline", target, err)
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		_ = p.Close()
		return nil, raft.ErrTransportShutdown
	}
	t.pipelines[p] = struct{}{}
	t.mu.Unlock()
	return p, nil
}

func (t *GroupTransport) forgetPipeline(p *pipeline) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pipelines, p)
}

// appendPart is one RPC's worth of an AppendEntries request.
type appendPart struct {
	msg  *pb.AppendEntriesRequest
	size int
	last bool
}

// splitAppend splits an AppendEntries request whose encoding exceeds limit bytes into
// consecutive requests of at most limit bytes each (a single entry may exceed it, up to
// MaxMessageSize). Part k+1 names part k's last entry as its previous entry; every part but the
// last caps LeaderCommitIndex at its own last index, so a follower never commits an entry it has
// not been sent in this request.
func splitAppend(m *pb.AppendEntriesRequest, limit int) ([]appendPart, error) {
	total := proto.Size(m)
	if total <= limit || len(m.Entries) <= 1 {
		if total > MaxMessageSize {
			return nil, fmt.Errorf("append of %d bytes exceeds the %d-byte message limit", total, MaxMessageSize)
		}
		return []appendPart{{msg: m, size: total, last: true}}, nil
	}
	shell := proto.Clone(m).(*pb.AppendEntriesRequest)
	shell.Entries = nil
	base := proto.Size(shell) + 32 // room for the previous-entry and commit fields of later parts

	var parts []appendPart
	prevIndex, prevTerm := m.PrevLogEntry, m.PrevLogTerm
	start, size := 0, base
	flush := func(end int, last bool) {
		part := proto.Clone(shell).(*pb.AppendEntriesRequest)
		part.Entries = m.Entries[start:end]
		part.PrevLogEntry, part.PrevLogTerm = prevIndex, prevTerm
		lastEntry := m.Entries[end-1]
		if !last {
			part.LeaderCommitIndex = min(m.LeaderCommitIndex, lastEntry.Index)
		}
		parts = append(parts, appendPart{msg: part, size: proto.Size(part), last: last})
		prevIndex, prevTerm = lastEntry.Index, lastEntry.Term
		start, size = end, base
	}
	for i, e := range m.Entries {
		es := proto.Size(e) + 11 // tag + length prefix
		if base+es > MaxMessageSize {
			return nil, fmt.Errorf("log entry at index %d is %d bytes, over the %d-byte message limit", e.Index, es, MaxMessageSize)
		}
		if i > start && size+es > limit {
			flush(i, false)
		}
		size += es
	}
	flush(len(m.Entries), true)
	return parts, nil
}
