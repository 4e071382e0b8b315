package console

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// WatchCluster sends the latest state at once, then every newly published state (published at
// most every MinInterval) with the events this stream has not seen, and a heartbeat after
// HeartbeatInterval without a message.
func (s *Server) WatchCluster(req *consolepb.WatchRequest, stream grpc.ServerStreamingServer[consolepb.ClusterState]) error {
	ctx := stream.Context()
	initial := int(req.GetInitialEvents())
	if initial <= 0 {
		initial = s.cfg.InitialEvents
	}
	node := s.src.Node().ID
	var (
		lastSeq   uint64 // sequence of the last state sent
		lastEvent uint64 // newest event sent
		sent      *consolepb.ClusterState
		first     = true
	)
	hb := time.NewTimer(s.cfg.HeartbeatInterval)
	defer hb.Stop()
	for {
		st, updated := s.latest()
		if st != nil && (first || st.Sequence != lastSeq) {
			msg := proto.CloneOf(st)
			max := 0
			if first {
				max = initial
			}
			for _, e := range s.events.Since(lastEvent, max) {
				msg.Events = append(msg.Events, eventToProto(e, node))
				lastEvent = e.Seq
			}
			if err := s.send(stream, msg); err != nil {
				return err
			}
			first, lastSeq, sent = false, st.Sequence, st
			resetTimer(hb, s.cfg.HeartbeatInterval)
		}
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-s.stopped:
			return status.Error(codes.Unavailable, "console: node is shutting down")
		case <-updated:
		case <-hb.C:
			if sent != nil {
				msg := proto.CloneOf(sent)
				msg.Heartbeat = true
				if err := s.send(stream, msg); err != nil {
					return err
				}
			}
			hb.Reset(s.cfg.HeartbeatInterval)
		}
	}
}

func (s *Server) send(stream grpc.ServerStreamingServer[consolepb.ClusterState], msg *consolepb.ClusterState) error {
	msg.ServerTimeUnixMs = s.cfg.Now().UnixMilli()
	return stream.Send(msg)
}

func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	t.Reset(d)
}
