package console

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chronik-stream/chronik/api/consolepb"
	"github.com/chronik-stream/chronik/broker/storage"
)

// SetHighWatermark sets a partition's high watermark through Admin (mutating).
func (s *Server) SetHighWatermark(ctx context.Context, req *consolepb.SetHighWatermarkRequest) (*consolepb.SetHighWatermarkResponse, error) {
	if err := s.requireAdmin(ctx, "SetHighWatermark"); err != nil {
		return nil, err
	}
	if s.cfg.Admin == nil {
		return nil, status.Error(codes.Unimplemented, "SetHighWatermark: this node has no admin backend for high watermarks")
	}
	if req.GetTopic() == "" || req.GetPartition() < 0 || req.GetOffset() < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "SetHighWatermark: need a topic, a partition >= 0 and an offset >= 0 (got topic %q partition %d offset %d)",
			req.GetTopic(), req.GetPartition(), req.GetOffset())
	}
	prev, hwm, err := s.cfg.Admin.SetHighWatermark(ctx, req.GetTopic(), req.GetPartition(), req.GetOffset())
	if err != nil {
		s.events.Appendf(slog.LevelWarn, "console: set high watermark of %s/%d to %d refused: %v", req.GetTopic(), req.GetPartition(), req.GetOffset(), err)
		return nil, status.Error(setHWMCode(err), err.Error())
	}
	if prev != hwm {
		s.events.Appendf(slog.LevelWarn, "console: high watermark of %s/%d set from %d to %d (log truncated)", req.GetTopic(), req.GetPartition(), prev, hwm)
	}
	return &consolepb.SetHighWatermarkResponse{Previous: prev, HighWatermark: hwm}, nil
}

func setHWMCode(err error) codes.Code {
	var rangeErr *storage.OffsetRangeError
	var boundaryErr *storage.NotBatchBoundaryError
	switch {
	case errors.Is(err, ErrNotFound):
		return codes.NotFound
	case errors.As(err, &rangeErr):
		return codes.OutOfRange
	case errors.As(err, &boundaryErr):
		return codes.FailedPrecondition
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return codes.Canceled
	}
	return codes.Internal
}
