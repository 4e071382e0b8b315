package raftstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/chronik-stream/chronik/raftstore/raftpb"
)

// service is the server side of the transport: it routes each call by group id to that group's
// GroupTransport, hands it to raft (the heartbeat handler for heartbeats, Consumer otherwise) and
// waits for raft's answer or the caller's deadline.
type service struct {
	pb.UnimplementedRaftTransportServer
	n *Network
}

func (s *service) lookup(group string) (*GroupTransport, error) {
	t, ok := s.n.group(group)
	if !ok {
		return nil, status.Errorf(codes.NotFound, "raft group %q is not running on %s", group, s.n.cfg.LocalAddr)
	}
	return t, nil
}

// dispatch hands cmd to raft and returns its response.
func (s *service) dispatch(ctx context.Context, t *GroupTransport, cmd any, data io.Reader, heartbeat bool) (any, error) {
	respCh := make(chan raft.RPCResponse, 1)
	rpc := raft.RPC{Command: cmd, Reader: data, RespChan: respCh}
	if fn := t.heartbeatHandler(); heartbeat && fn != nil {
		fn(rpc)
	} else {
		select {
		case t.consumeCh <- rpc:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		case <-t.ctx.Done():
			return nil, status.Errorf(codes.Unavailable, "raft group %q is shutting down", t.group)
		}
	}
	select {
	case r := <-respCh:
		if r.Error != nil {
			return nil, status.Error(codes.Unknown, r.Error.Error())
		}
		return r.Response, nil
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	case <-t.ctx.Done():
		return nil, status.Errorf(codes.Unavailable, "raft group %q is shutting down", t.group)
	}
}

func unexpected(resp any) error {
	return status.Errorf(codes.Internal, "raft answered with %T", resp)
}

func (s *service) AppendEntries(ctx context.Context, m *pb.AppendEntriesRequest) (*pb.AppendEntriesResponse, error) {
	t, err := s.lookup(m.GetGroup())
	if err != nil {
		return nil, err
	}
	req := appendReqFromPB(m)
	resp, err := s.dispatch(ctx, t, req, nil, isHeartbeat(req))
	if err != nil {
		return nil, err
	}
	r, ok := resp.(*raft.AppendEntriesResponse)
	if !ok {
		return nil, unexpected(resp)
	}
	return appendRespToPB(t.group, r), nil
}

// AppendEntriesPipeline answers each request of the stream in order. Decoding the next request
// overlaps with raft processing the current one only inside gRPC's flow-control window, which is
// what bounds the sender's in-flight requests anyway.
func (s *service) AppendEntriesPipeline(stream grpc.BidiStreamingServer[pb.AppendEntriesRequest, pb.AppendEntriesResponse]) error {
	ctx := stream.Context()
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		t, err := s.lookup(m.GetGroup())
		if err != nil {
			return err
		}
		out := &pb.AppendEntriesResponse{Group: t.group}
		resp, err := s.dispatch(ctx, t, appendReqFromPB(m), nil, false)
		switch r := resp.(type) {
		case *raft.AppendEntriesResponse:
			out = appendRespToPB(t.group, r)
		case nil:
			if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
				return err // deadline, cancellation, shutdown: end the stream
			}
			out.Error = status.Convert(err).Message()
		default:
			return unexpected(resp)
		}
		if err := stream.Send(out); err != nil {
			return err
		}
	}
}

func (s *service) RequestVote(ctx context.Context, m *pb.RequestVoteRequest) (*pb.RequestVoteResponse, error) {
	t, err := s.lookup(m.GetGroup())
	if err != nil {
		return nil, err
	}
	resp, err := s.dispatch(ctx, t, voteReqFromPB(m), nil, false)
	if err != nil {
		return nil, err
	}
	r, ok := resp.(*raft.RequestVoteResponse)
	if !ok {
		return nil, unexpected(resp)
	}
	return voteRespToPB(t.group, r), nil
}

func (s *service) RequestPreVote(ctx context.Context, m *pb.RequestPreVoteRequest) (*pb.RequestPreVoteResponse, error) {
	t, err := s.lookup(m.GetGroup())
	if err != nil {
		return nil, err
	}
	resp, err := s.dispatch(ctx, t, preVoteReqFromPB(m), nil, false)
	if err != nil {
		return nil, err
	}
	r, ok := resp.(*raft.RequestPreVoteResponse)
	if !ok {
		return nil, unexpected(resp)
	}
	return preVoteRespToPB(t.group, r), nil
}

func (s *service) TimeoutNow(ctx context.Context, m *pb.TimeoutNowRequest) (*pb.TimeoutNowResponse, error) {
	t, err := s.lookup(m.GetGroup())
	if err != nil {
		return nil, err
	}
	resp, err := s.dispatch(ctx, t, timeoutNowReqFromPB(m), nil, false)
	if err != nil {
		return nil, err
	}
	r, ok := resp.(*raft.TimeoutNowResponse)
	if !ok {
		return nil, unexpected(resp)
	}
	return timeoutNowRespToPB(t.group, r), nil
}

// InstallSnapshot reads the metadata message, then gives raft a reader of exactly Size bytes
// pulled from the stream. Whatever raft leaves unread is drained before answering, so the sender
// always completes its stream and receives the real answer.
func (s *service) InstallSnapshot(stream grpc.ClientStreamingServer[pb.InstallSnapshotChunk, pb.InstallSnapshotResponse]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	meta := first.GetMetadata()
	if meta == nil {
		return status.Error(codes.InvalidArgument, "install snapshot: first message carries no metadata")
	}
	if meta.GetSize() < 0 {
		return status.Errorf(codes.InvalidArgument, "install snapshot: negative size %d", meta.GetSize())
	}
	t, err := s.lookup(meta.GetGroup())
	if err != nil {
		return err
	}
	data := &snapshotReader{stream: stream, group: t.group, remaining: meta.GetSize()}
	defer data.stop() // raft may still hold the reader when we return on a deadline
	resp, err := s.dispatch(stream.Context(), t, snapshotReqFromPB(meta), data, false)
	if err != nil {
		return err
	}
	r, ok := resp.(*raft.InstallSnapshotResponse)
	if !ok {
		return unexpected(resp)
	}
	if _, err := io.Copy(io.Discard, data); err != nil {
		return status.Errorf(codes.InvalidArgument, "install snapshot for group %q: %v", t.group, err)
	}
	if err := data.expectEnd(); err != nil {
		return status.Errorf(codes.InvalidArgument, "install snapshot for group %q: %v", t.group, err)
	}
	return stream.SendAndClose(snapshotRespToPB(t.group, r))
}

// snapshotReader is the io.Reader raft reads a snapshot from: exactly `remaining` bytes of the
// stream's data messages. A stream ending early is io.ErrUnexpectedEOF.
type snapshotReader struct {
	mu        sync.Mutex
	stream    grpc.ClientStreamingServer[pb.InstallSnapshotChunk, pb.InstallSnapshotResponse]
	group     string
	remaining int64
	buf       []byte
	stopped   bool
	err       error
}

func (r *snapshotReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return 0, errors.New("install snapshot: call already ended")
	}
	if r.err != nil {
		return 0, r.err
	}
	if r.remaining == 0 && len(r.buf) == 0 {
		return 0, io.EOF
	}
	for len(r.buf) == 0 {
		m, err := r.stream.Recv()
		if errors.Is(err, io.EOF) {
			r.err = fmt.Errorf("install snapshot: stream ended with %d bytes missing: %w", r.remaining, io.ErrUnexpectedEOF)
			return 0, r.err
		}
		if err != nil {
			r.err = err
			return 0, err
		}
		d, ok := m.GetPayload().(*pb.InstallSnapshotChunk_Data)
		if !ok {
			r.err = errors.New("install snapshot: metadata message after the first")
			return 0, r.err
		}
		if int64(len(d.Data)) > r.remaining {
			r.err = fmt.Errorf("install snapshot: stream carries more than the announced size (%d bytes left, chunk of %d)", r.remaining, len(d.Data))
			return 0, r.err
		}
		r.remaining -= int64(len(d.Data))
		r.buf = d.Data
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// expectEnd checks that the sender sends nothing after the announced size.
func (r *snapshotReader) expectEnd() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := r.stream.Recv()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	return errors.New("install snapshot: stream carries more than the announced size")
}

// stop makes later reads fail; it waits for a read in progress (which returns once the call's
// context ends).
func (r *snapshotReader) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
}
