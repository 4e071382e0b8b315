package raftstore

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/chronik-stream/chronik/broker/httpapi"
)

// RegisterAdmin adds the cluster admin endpoints to the node's HTTP server:
//
//	POST /admin/cluster/remove {"node_id":N}   remove a node (admin token required)
//
// A node whose disk was wiped is refused when it tries to join under its old id; removing it
// first lets it join again as a new member.
func (n *Node) RegisterAdmin(api *httpapi.Server) {
	api.RegisterAdmin(http.MethodPost, "/admin/cluster/remove", n.handleRemove, true)
}

type removeRequest struct {
	NodeID *uint64 `json:"node_id"`
}

type removeResponse struct {
	Removed uint64 `json:"removed"`
	Members int    `json:"members"`
}

func (n *Node) handleRemove(w http.ResponseWriter, r *http.Request) {
	var req removeRequest
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	if req.NodeID == nil || *req.NodeID == 0 {
		httpapi.WriteError(w, http.StatusBadRequest, `field "node_id" is required (>= 1)`)
		return
	}
	id := *req.NodeID
	err := n.RemoveNode(r.Context(), id)
	var nm *ErrNotMember
	switch {
	case errors.As(err, &nm):
		httpapi.WriteError(w, http.StatusNotFound, err.Error())
		return
	case err != nil:
		n.logger.Error("removing a node failed", "node", id, "err", err)
		httpapi.WriteError(w, http.StatusServiceUnavailable, fmt.Sprintf("removing node %d: %v", id, err))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, removeResponse{Removed: id, Members: len(n.State().Nodes)})
}
