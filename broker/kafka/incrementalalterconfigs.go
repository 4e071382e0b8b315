package kafka

// IncrementalAlterConfigs (key 44), versions 0–1 (flexible from 1). Topic resources apply
// SET, DELETE (back to the default), APPEND and SUBTRACT (list-typed keys only) to the
// topic's current configs; the result is validated against the known topic keys and stored;
// validate_only checks without changing. Broker configs are read-only here.

import (
	"context"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (s *Server) handleIncrementalAlterConfigs(ctx context.Context, r *kmsg.IncrementalAlterConfigsRequest) *kmsg.IncrementalAlterConfigsResponse {
	resp := r.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	resp.Resources = make([]kmsg.IncrementalAlterConfigsResponseResource, 0, len(r.Resources))
	for i := range r.Resources {
		rr := &r.Resources[i]
		or := kmsg.NewIncrementalAlterConfigsResponseResource()
		or.ResourceType, or.ResourceName = rr.ResourceType, rr.ResourceName
		var err error
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			err = s.topics.setConfigs(ctx, rr.ResourceName, r.ValidateOnly, func(cur map[string]string) (map[string]string, error) {
				return s.applyIncremental(cur, rr.Configs)
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

// applyIncremental applies the operations to cur (a private copy) and returns it.
func (s *Server) applyIncremental(cur map[string]string, ops []kmsg.IncrementalAlterConfigsRequestResourceConfig) (map[string]string, error) {
	seen := make(map[string]struct{}, len(ops))
	for _, op := range ops {
		if _, dup := seen[op.Name]; dup {
			return nil, errorf(kerr.InvalidRequest, "config %s appears more than once", op.Name)
		}
		seen[op.Name] = struct{}{}
		switch op.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			if op.Value == nil {
				return nil, errorf(kerr.InvalidRequest, "null value for SET of config %s", op.Name)
			}
			cur[op.Name] = *op.Value
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(cur, op.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			d, ok := s.topics.configs.lookup(op.Name)
			if !ok {
				return nil, errorf(kerr.InvalidConfig, "unknown topic config name: %s", op.Name)
			}
			if d.typ != kmsg.ConfigTypeList {
				return nil, errorf(kerr.InvalidConfig, "config %s is not a list: %s is not allowed", op.Name, op.Op)
			}
			if op.Value == nil {
				return nil, errorf(kerr.InvalidRequest, "null value for %s of config %s", op.Op, op.Name)
			}
			base, ok := cur[op.Name]
			if !ok {
				base = d.def
			}
			items := splitList(base)
			for _, v := range splitList(*op.Value) {
				has := slices.Contains(items, v)
				switch {
				case op.Op == kmsg.IncrementalAlterConfigOpAppend && !has:
					items = append(items, v)
				case op.Op == kmsg.IncrementalAlterConfigOpSubtract && has:
					items = slices.DeleteFunc(items, func(it string) bool { return it == v })
				}
			}
			cur[op.Name] = strings.Join(items, ",")
		default:
			return nil, errorf(kerr.InvalidRequest, "unknown operation %d for config %s", op.Op, op.Name)
		}
	}
	return cur, nil
}
