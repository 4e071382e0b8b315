package kafka

// AlterConfigs (key 33), versions 0–1. Topic resources: the request's configs replace the
// topic's whole config set (unspecified keys return to their defaults), validated against the
// known topic keys; validate_only checks without changing. Changes reach open partition logs
// (retention and segment settings) at once. Broker configs are read-only here.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleAlterConfigs(ctx context.Context, r *kmsg.AlterConfigsRequest) *kmsg.AlterConfigsResponse {
	resp := r.ResponseKind().(*kmsg.AlterConfigsResponse)
	resp.Resources = make([]kmsg.AlterConfigsResponseResource, 0, len(r.Resources))
	for i := range r.Resources {
		rr := &r.Resources[i]
		or := kmsg.NewAlterConfigsResponseResource()
		or.ResourceType, or.ResourceName = rr.ResourceType, rr.ResourceName
		var err error
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			err = s.topics.setConfigs(ctx, rr.ResourceName, r.ValidateOnly, func(map[string]string) (map[string]string, error) {
				next := make(map[string]string, len(rr.Configs))
				for _, c := range rr.Configs {
					if _, dup := next[c.Name]; dup {
						return nil, errorf(kerr.InvalidRequest, "config %s appears more than once", c.Name)
					}
					if c.Value != nil {
						next[c.Name] = *c.Value
					}
				}
				return next, nil
			})
		case kmsg.ConfigResourceTypeBroker:
			err = errorf(kerr.InvalidRequest, "broker configs are read-only; set them in chronik.toml")
		default:
			err = errorf(kerr.InvalidRequest, "altering configs of resource type %d is not supported", rr.ResourceType)
		}
		if err != nil {
			or.ErrorCode = errCode(err, kerr.UnknownServerError)
			or.ErrorMessage = errMessage(err)
		}
		resp.Resources = append(resp.Resources, or)
	}
	return resp
}
