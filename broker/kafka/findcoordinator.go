package kafka

// FindCoordinator (key 10), versions 0–3 (flexible from 3; batched v4+ is not served). This
// node coordinates every consumer group (key type 0) in standalone mode; in a cluster the
// metadata leader does (COORDINATOR_NOT_AVAILABLE while there is none). Transaction coordinators (key type 1)
// answer COORDINATOR_NOT_AVAILABLE: transactions are not served.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleFindCoordinator(r *kmsg.FindCoordinatorRequest) *kmsg.FindCoordinatorResponse {
	resp := r.ResponseKind().(*kmsg.FindCoordinatorResponse)
	var err error
	switch r.CoordinatorType {
	case 0:
		if r.CoordinatorKey == "" {
			err = errorf(kerr.InvalidGroupID, "group id is empty")
		}
	case 1:
		err = errorf(kerr.CoordinatorNotAvailable, "transactions are not supported")
	default:
		err = errorf(kerr.InvalidRequest, "unknown coordinator type %d", r.CoordinatorType)
	}
	if err != nil {
		resp.ErrorCode = errCode(err, kerr.UnknownServerError)
		if r.Version >= 1 {
			resp.ErrorMessage = errMessage(err)
		}
		resp.NodeID, resp.Host, resp.Port = -1, "", -1
		return resp
	}
	if s.deps.Cluster != nil {
		b, ok := s.deps.Cluster.Coordinator()
		if !ok {
			resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
			if r.Version >= 1 {
				resp.ErrorMessage = kmsg.StringPtr("no metadata leader is known yet")
			}
			resp.NodeID, resp.Host, resp.Port = -1, "", -1
			return resp
		}
		resp.NodeID, resp.Host, resp.Port = b.NodeID, b.Host, b.Port
		return resp
	}
	host, port := s.advertisedAddr()
	resp.NodeID, resp.Host, resp.Port = s.cfg.NodeID, host, port
	return resp
}
