package console

import (
	"context"
	"errors"
	"log/slog"
	"regexp"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chronik-stream/chronik/api/consolepb"
	"github.com/chronik-stream/chronik/broker/mirror"
)

// Mirrors runs the built-in mirror of a node (blue-green migration); *mirror.Manager implements it.
type Mirrors interface {
	Start(ctx context.Context, source, topicRegex string) (string, error)
	Stop(ctx context.Context, id string) error
	Status() []mirror.Status
}

// MirrorStart (mutating) starts mirroring another Kafka-compatible cluster into this one.
func (s *Server) MirrorStart(ctx context.Context, req *consolepb.MirrorStartRequest) (*consolepb.MirrorStartResponse, error) {
	if err := s.requireAdmin(ctx, "MirrorStart"); err != nil {
		return nil, err
	}
	if s.cfg.Mirrors == nil {
		return nil, status.Error(codes.Unimplemented, "MirrorStart: this node runs no mirror manager")
	}
	if req.GetSourceBootstrap() == "" {
		return nil, status.Error(codes.InvalidArgument, "MirrorStart: need the source cluster's bootstrap servers (host:port[,host:port…])")
	}
	if _, err := regexp.Compile(req.GetTopicRegex()); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "MirrorStart: topic regex %q: %v", req.GetTopicRegex(), err)
	}
	id, err := s.cfg.Mirrors.Start(ctx, req.GetSourceBootstrap(), req.GetTopicRegex())
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "MirrorStart from %s: %v", req.GetSourceBootstrap(), err)
	}
	s.events.Appendf(slog.LevelInfo, "console: mirror %s started from %s (topics %q)", id, req.GetSourceBootstrap(), req.GetTopicRegex())
	return &consolepb.MirrorStartResponse{MirrorId: id}, nil
}

// MirrorStop (mutating) stops a mirror; its progress and offset mapping are kept.
func (s *Server) MirrorStop(ctx context.Context, req *consolepb.MirrorStopRequest) (*consolepb.MirrorStopResponse, error) {
	if err := s.requireAdmin(ctx, "MirrorStop"); err != nil {
		return nil, err
	}
	if s.cfg.Mirrors == nil {
		return nil, status.Error(codes.Unimplemented, "MirrorStop: this node runs no mirror manager")
	}
	if err := s.cfg.Mirrors.Stop(ctx, req.GetMirrorId()); err != nil {
		code := codes.FailedPrecondition
		if errors.Is(err, mirror.ErrUnknownMirror) {
			code = codes.NotFound
		}
		return nil, status.Errorf(code, "MirrorStop %s: %v", req.GetMirrorId(), err)
	}
	s.events.Appendf(slog.LevelInfo, "console: mirror %s stopped", req.GetMirrorId())
	return &consolepb.MirrorStopResponse{}, nil
}

// MirrorStatus reports every mirror of this node.
func (s *Server) MirrorStatus(context.Context, *consolepb.MirrorStatusRequest) (*consolepb.MirrorStatusResponse, error) {
	return &consolepb.MirrorStatusResponse{Mirrors: s.mirrorStates()}, nil
}

func (s *Server) mirrorStates() []*consolepb.MirrorState {
	if s.cfg.Mirrors == nil {
		return nil
	}
	var out []*consolepb.MirrorState
	for _, m := range s.cfg.Mirrors.Status() {
		out = append(out, mirrorToProto(m))
	}
	return out
}

func mirrorToProto(m mirror.Status) *consolepb.MirrorState {
	ms := &consolepb.MirrorState{
		MirrorId: m.ID, SourceBootstrap: m.Source, TopicRegex: m.TopicRegex, State: m.State,
		Lag: m.Lag, Error: m.Error, Records: m.Records, Groups: int32(m.Groups),
	}
	for _, p := range m.Partitions {
		ms.Partitions = append(ms.Partitions, &consolepb.MirrorPartition{
			Topic: p.Topic, Partition: p.Partition, SourceLogStart: p.SourceLogStart,
			SourceHighWatermark: p.SourceHighWatermark, NextSourceOffset: p.NextSourceOffset,
			NextDestOffset: p.NextDestOffset, Lag: p.Lag,
		})
	}
	return ms
}
