package kafka

// InitProducerId (key 22), versions 0–4 (flexible from 2). Idempotent producers get a new
// producer id, unique across restarts, with epoch 0 (as Kafka does for non-transactional
// producers, also when v3+ passes its previous id). Transactional ids are refused with
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED: transactions are not served.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleInitProducerID(ctx context.Context, r *kmsg.InitProducerIDRequest) *kmsg.InitProducerIDResponse {
	resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if r.TransactionalID != nil {
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return resp
	}
	id, err := s.deps.Meta.AllocateProducerID(ctx)
	if err != nil {
		s.logger.Warn("allocating producer id failed", "err", err)
		resp.ErrorCode = errCode(err, kerr.CoordinatorNotAvailable)
		return resp
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp
}
