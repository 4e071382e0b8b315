package kafka

// ApiVersions (key 18), versions 0–3. Requests above v3 get the KIP-511 answer: a v0-encoded
// body with UNSUPPORTED_VERSION and our ranges, so the client retries with a version we
// serve. Responses always use response header v0.

import (
	"encoding/binary"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleApiVersions(r *kmsg.ApiVersionsRequest) *kmsg.ApiVersionsResponse {
	resp := r.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = s.apiKeys
	return resp
}

// unsupportedApiVersions encodes the KIP-511 response frame for an ApiVersions request of a
// version above our maximum.
func (s *Server) unsupportedApiVersions(correlationID int32) []byte {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	resp.ApiKeys = s.apiKeys
	buf := make([]byte, 8, 8+6*len(s.apiKeys)+8)
	binary.BigEndian.PutUint32(buf[4:], uint32(correlationID))
	buf = resp.AppendTo(buf)
	binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
	return buf
}
