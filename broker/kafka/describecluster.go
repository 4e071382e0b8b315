package kafka

// DescribeCluster (key 60), version 0 (flexible). Standalone: one broker, this node, which is
// also the controller; in a cluster every node, with the metadata leader as controller.
// Authorized operations when asked for (no authorizer: everything is allowed).

import "github.com/twmb/franz-go/pkg/kmsg"

func (s *Server) handleDescribeCluster(r *kmsg.DescribeClusterRequest) *kmsg.DescribeClusterResponse {
	resp := r.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.ClusterID = s.cfg.ClusterID
	resp.ControllerID = s.controllerID()
	for _, br := range s.brokers() {
		b := kmsg.NewDescribeClusterResponseBroker()
		b.NodeID, b.Host, b.Port = br.NodeID, br.Host, br.Port
		resp.Brokers = append(resp.Brokers, b)
	}
	if r.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = clusterAuthorizedOps
	}
	return resp
}
