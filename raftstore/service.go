package raftstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/chronik-stream/chronik/raftstore/raftpb"
)

// clusterService is the server side of raftpb.ClusterService.
type clusterService struct {
	pb.UnimplementedClusterServiceServer
	n *Node
}

func registerClusterService(s *grpc.Server, n *Node) {
	pb.RegisterClusterServiceServer(s, &clusterService{n: n})
}

// leaderOnly returns the metadata group when this node leads it, else the status a caller
// retries on (FAILED_PRECONDITION naming the leader, UNAVAILABLE without one).
func (s *clusterService) leaderOnly() (*raftGroup, error) {
	g := s.n.metaGroup()
	if g == nil {
		return nil, status.Error(codes.Unavailable, "node is starting")
	}
	if g.isLeader() {
		return g, nil
	}
	if id, addr := g.leader(); id != 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "node %d is not the metadata leader; LeaderHint: %d@%s", s.n.id, id, addr)
	}
	return nil, status.Errorf(codes.Unavailable, "node %d knows no metadata leader", s.n.id)
}

// toStatus maps the outcome of a local apply to a status the forwarding node understands.
func toStatus(err error) error {
	var conflict *ErrNodeConflict
	switch {
	case err == nil:
		return nil
	case errors.As(err, &conflict):
		return status.Error(codes.AlreadyExists, conflict.Error())
	case errors.Is(err, raft.ErrNotLeader):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, raft.ErrEnqueueTimeout), errors.Is(err, raft.ErrRaftShutdown):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, raft.ErrLeadershipLost):
		return status.Error(codes.Unknown, err.Error())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return status.FromContextError(err).Err()
	default:
		return status.Error(codes.Aborted, err.Error())
	}
}

func nodeInfoFromPB(m *pb.NodeInfo) NodeInfo {
	return NodeInfo{ID: m.GetId(), UUID: m.GetUuid(), RaftAddr: m.GetRaftAddr(), KafkaHost: m.GetKafkaHost(), KafkaPort: m.GetKafkaPort()}
}

func nodeInfoToPB(i NodeInfo) *pb.NodeInfo {
	return &pb.NodeInfo{Id: i.ID, Uuid: i.UUID, RaftAddr: i.RaftAddr, KafkaHost: i.KafkaHost, KafkaPort: i.KafkaPort}
}

func (s *clusterService) Join(ctx context.Context, req *pb.JoinRequest) (*pb.JoinResponse, error) {
	g, err := s.leaderOnly()
	if err != nil {
		return nil, err
	}
	info := nodeInfoFromPB(req.GetNode())
	if info.ID == 0 || info.RaftAddr == "" || info.UUID == "" {
		return nil, status.Error(codes.InvalidArgument, "join: node id, address and uuid are required")
	}
	index, err := s.n.admit(ctx, g, info)
	if err != nil {
		return nil, toStatus(err)
	}
	st := s.n.State()
	resp := &pb.JoinResponse{LeaderId: s.n.id, Index: index}
	for _, id := range st.NodeIDs() {
		resp.Members = append(resp.Members, nodeInfoToPB(st.Nodes[id]))
	}
	return resp, nil
}

func (s *clusterService) Propose(ctx context.Context, req *pb.ProposeRequest) (*pb.ProposeResponse, error) {
	if req.GetGroup() != MetaGroup {
		return nil, status.Errorf(codes.InvalidArgument, "propose: only the %s group takes forwarded entries, not %q", MetaGroup, req.GetGroup())
	}
	data := req.GetData()
	if len(data) < 1 || (data[0] != entryMeta && data[0] != entryCluster) {
		return nil, status.Error(codes.InvalidArgument, "propose: malformed entry")
	}
	g, err := s.leaderOnly()
	if err != nil {
		return nil, err
	}
	index, err := s.n.applyLocal(ctx, g, data[0], data[1:])
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ProposeResponse{Index: index}, nil
}

func (s *clusterService) GroupStatus(_ context.Context, req *pb.GroupStatusRequest) (*pb.GroupStatusResponse, error) {
	g := s.n.group(req.GetGroup())
	if g == nil {
		return nil, status.Errorf(codes.NotFound, "raft group %q is not running on node %d", req.GetGroup(), s.n.id)
	}
	leader, _ := g.leader()
	return &pb.GroupStatusResponse{
		ClusterUuid:  s.n.State().UUID,
		LeaderId:     leader,
		State:        g.r.State().String(),
		Term:         g.r.CurrentTerm(),
		LastIndex:    g.r.LastIndex(),
		AppliedIndex: g.r.AppliedIndex(),
		CommitIndex:  g.r.CommitIndex(),
	}, nil
}

func (s *clusterService) Remove(ctx context.Context, req *pb.RemoveRequest) (*pb.RemoveResponse, error) {
	g, err := s.leaderOnly()
	if err != nil {
		return nil, err
	}
	if err := s.n.removeLocal(ctx, g, req.GetNodeId()); err != nil {
		var nf *ErrNotMember
		if errors.As(err, &nf) {
			return nil, status.Error(codes.NotFound, err.Error())
		}
		return nil, toStatus(err)
	}
	return &pb.RemoveResponse{}, nil
}

// group returns a running Raft group of this node by name.
func (n *Node) group(name string) *raftGroup {
	if name == MetaGroup {
		return n.metaGroup()
	}
	return n.data.raftGroup(name)
}

// admit records a joining node and adds it to the metadata group as a non-voter (the leader's
// promoter makes it a voter once it has caught up). Leader only.
func (n *Node) admit(ctx context.Context, g *raftGroup, info NodeInfo) (uint64, error) {
	st := n.State()
	op := opAddNode
	if old, ok := st.Nodes[info.ID]; ok {
		if old.UUID != info.UUID {
			return 0, &ErrNodeConflict{ID: info.ID}
		}
		op = opUpdateNode
	}
	b, err := encodeClusterCmd(clusterCmd{Op: op, Node: &info})
	if err != nil {
		return 0, err
	}
	index, err := n.applyLocal(ctx, g, entryCluster, b)
	if err != nil {
		return 0, err
	}
	conf, err := g.configuration()
	if err != nil {
		return 0, err
	}
	for _, s := range conf.Servers {
		if s.ID == serverID(info.ID) {
			if s.Address == raft.ServerAddress(info.RaftAddr) {
				return index, nil
			}
			// Same node, new address: keep its suffrage.
			var f raft.IndexFuture
			if s.Suffrage == raft.Voter {
				f = g.r.AddVoter(s.ID, raft.ServerAddress(info.RaftAddr), 0, 10*time.Second)
			} else {
				f = g.r.AddNonvoter(s.ID, raft.ServerAddress(info.RaftAddr), 0, 10*time.Second)
			}
			if err := f.Error(); err != nil {
				return 0, fmt.Errorf("updating the address of node %d: %w", info.ID, err)
			}
			return max(index, f.Index()), nil
		}
	}
	f := g.r.AddNonvoter(serverID(info.ID), raft.ServerAddress(info.RaftAddr), 0, 10*time.Second)
	if err := f.Error(); err != nil {
		return 0, fmt.Errorf("adding node %d to the metadata group: %w", info.ID, err)
	}
	n.logger.Info("node admitted to the metadata group as a non-voter", "node", info.ID, "addr", info.RaftAddr)
	return max(index, f.Index()), nil
}

// ErrNotMember is returned when removing a node that is not a member.
type ErrNotMember struct{ ID uint64 }

func (e *ErrNotMember) Error() string {
	return fmt.Sprintf("node %d is not a member of the cluster", e.ID)
}

// removeLocal removes a node from the membership and the metadata group. Leader only.
func (n *Node) removeLocal(ctx context.Context, g *raftGroup, id uint64) error {
	st := n.State()
	_, member := st.Nodes[id]
	conf, err := g.configuration()
	if err != nil {
		return err
	}
	inConf := false
	for _, s := range conf.Servers {
		if s.ID == serverID(id) {
			inConf = true
		}
	}
	if !member && !inConf {
		return &ErrNotMember{ID: id}
	}
	if member {
		b, err := encodeClusterCmd(clusterCmd{Op: opRemoveNode, NodeID: id})
		if err != nil {
			return err
		}
		if _, err := n.applyLocal(ctx, g, entryCluster, b); err != nil {
			return err
		}
	}
	if inConf {
		if err := g.r.RemoveServer(serverID(id), 0, 10*time.Second).Error(); err != nil {
			return fmt.Errorf("removing node %d from the metadata group: %w", id, err)
		}
	}
	n.logger.Info("node removed from the cluster", "node", id)
	return nil
}

// RemoveNode removes node id from the cluster: from the membership, the metadata group and
// (through the leader's placement) every data group. Any node may be asked; the request goes
// to the metadata leader. Removing a node that is not a member returns *ErrNotMember.
func (n *Node) RemoveNode(ctx context.Context, id uint64) error {
	if id == 0 {
		return errors.New("node id must be at least 1")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	for {
		g := n.metaGroup()
		if g == nil {
			return errors.New("cluster node not started")
		}
		var err error
		if g.isLeader() {
			err = n.removeLocal(ctx, g, id)
		} else if _, addr := g.leader(); addr != "" {
			var c pb.ClusterServiceClient
			if c, err = n.netw.clusterClient(addr); err == nil {
				_, err = c.Remove(ctx, &pb.RemoveRequest{NodeId: id})
				if st, ok := status.FromError(err); ok && st.Code() == codes.NotFound {
					return &ErrNotMember{ID: id}
				}
			}
		} else {
			err = errNoLeader
		}
		if err == nil || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("removing node %d: %w (last error: %v)", id, context.Cause(ctx), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
