package raftstore

import (
	"time"

	"github.com/hashicorp/raft"

	pb "github.com/chronik-stream/chronik/raftstore/raftpb"
)

// Conversions between hashicorp/raft's RPC structs and their protobuf mirrors. Every field is
// copied; convert_test.go fills every field of every struct by reflection and fails when a raft
// upgrade adds one that is not carried.

func headerToPB(h raft.RPCHeader) *pb.RPCHeader {
	return &pb.RPCHeader{ProtocolVersion: int64(h.ProtocolVersion), Id: h.ID, Addr: h.Addr}
}

func headerFromPB(h *pb.RPCHeader) raft.RPCHeader {
	return raft.RPCHeader{
		ProtocolVersion: raft.ProtocolVersion(h.GetProtocolVersion()),
		ID:              h.GetId(),
		Addr:            h.GetAddr(),
	}
}

func logToPB(l *raft.Log) *pb.Log {
	return &pb.Log{
		Index:             l.Index,
		Term:              l.Term,
		Type:              uint32(l.Type),
		Data:              l.Data,
		Extensions:        l.Extensions,
		AppendedAtSeconds: l.AppendedAt.Unix(),
		AppendedAtNanos:   int32(l.AppendedAt.Nanosecond()),
	}
}

func logFromPB(l *pb.Log) *raft.Log {
	return &raft.Log{
		Index:      l.GetIndex(),
		Term:       l.GetTerm(),
		Type:       raft.LogType(l.GetType()),
		Data:       l.GetData(),
		Extensions: l.GetExtensions(),
		AppendedAt: time.Unix(l.GetAppendedAtSeconds(), int64(l.GetAppendedAtNanos())).UTC(),
	}
}

func appendReqToPB(group string, r *raft.AppendEntriesRequest) *pb.AppendEntriesRequest {
	m := &pb.AppendEntriesRequest{
		Group:             group,
		Header:            headerToPB(r.RPCHeader),
		Term:              r.Term,
		Leader:            r.Leader,
		PrevLogEntry:      r.PrevLogEntry,
		PrevLogTerm:       r.PrevLogTerm,
		LeaderCommitIndex: r.LeaderCommitIndex,
	}
	if len(r.Entries) > 0 {
		m.Entries = make([]*pb.Log, len(r.Entries))
		for i, e := range r.Entries {
			m.Entries[i] = logToPB(e)
		}
	}
	return m
}

func appendReqFromPB(m *pb.AppendEntriesRequest) *raft.AppendEntriesRequest {
	r := &raft.AppendEntriesRequest{
		RPCHeader:         headerFromPB(m.GetHeader()),
		Term:              m.GetTerm(),
		Leader:            m.GetLeader(),
		PrevLogEntry:      m.GetPrevLogEntry(),
		PrevLogTerm:       m.GetPrevLogTerm(),
		LeaderCommitIndex: m.GetLeaderCommitIndex(),
	}
	if n := len(m.GetEntries()); n > 0 {
		r.Entries = make([]*raft.Log, n)
		for i, e := range m.GetEntries() {
			r.Entries[i] = logFromPB(e)
		}
	}
	return r
}

func appendRespToPB(group string, r *raft.AppendEntriesResponse) *pb.AppendEntriesResponse {
	return &pb.AppendEntriesResponse{
		Group:          group,
		Header:         headerToPB(r.RPCHeader),
		Term:           r.Term,
		LastLog:        r.LastLog,
		Success:        r.Success,
		NoRetryBackoff: r.NoRetryBackoff,
	}
}

func appendRespFromPB(m *pb.AppendEntriesResponse) raft.AppendEntriesResponse {
	return raft.AppendEntriesResponse{
		RPCHeader:      headerFromPB(m.GetHeader()),
		Term:           m.GetTerm(),
		LastLog:        m.GetLastLog(),
		Success:        m.GetSuccess(),
		NoRetryBackoff: m.GetNoRetryBackoff(),
	}
}

func voteReqToPB(group string, r *raft.RequestVoteRequest) *pb.RequestVoteRequest {
	return &pb.RequestVoteRequest{
		Group:              group,
		Header:             headerToPB(r.RPCHeader),
		Term:               r.Term,
		Candidate:          r.Candidate,
		LastLogIndex:       r.LastLogIndex,
		LastLogTerm:        r.LastLogTerm,
		LeadershipTransfer: r.LeadershipTransfer,
	}
}

func voteReqFromPB(m *pb.RequestVoteRequest) *raft.RequestVoteRequest {
	return &raft.RequestVoteRequest{
		RPCHeader:          headerFromPB(m.GetHeader()),
		Term:               m.GetTerm(),
		Candidate:          m.GetCandidate(),
		LastLogIndex:       m.GetLastLogIndex(),
		LastLogTerm:        m.GetLastLogTerm(),
		LeadershipTransfer: m.GetLeadershipTransfer(),
	}
}

func voteRespToPB(group string, r *raft.RequestVoteResponse) *pb.RequestVoteResponse {
	return &pb.RequestVoteResponse{
		Group:   group,
		Header:  headerToPB(r.RPCHeader),
		Term:    r.Term,
		Peers:   r.Peers,
		Granted: r.Granted,
	}
}

func voteRespFromPB(m *pb.RequestVoteResponse) raft.RequestVoteResponse {
	return raft.RequestVoteResponse{
		RPCHeader: headerFromPB(m.GetHeader()),
		Term:      m.GetTerm(),
		Peers:     m.GetPeers(),
		Granted:   m.GetGranted(),
	}
}

func preVoteReqToPB(group string, r *raft.RequestPreVoteRequest) *pb.RequestPreVoteRequest {
	return &pb.RequestPreVoteRequest{
		Group:        group,
		Header:       headerToPB(r.RPCHeader),
		Term:         r.Term,
		LastLogIndex: r.LastLogIndex,
		LastLogTerm:  r.LastLogTerm,
	}
}

func preVoteReqFromPB(m *pb.RequestPreVoteRequest) *raft.RequestPreVoteRequest {
	return &raft.RequestPreVoteRequest{
		RPCHeader:    headerFromPB(m.GetHeader()),
		Term:         m.GetTerm(),
		LastLogIndex: m.GetLastLogIndex(),
		LastLogTerm:  m.GetLastLogTerm(),
	}
}

func preVoteRespToPB(group string, r *raft.RequestPreVoteResponse) *pb.RequestPreVoteResponse {
	return &pb.RequestPreVoteResponse{
		Group:   group,
		Header:  headerToPB(r.RPCHeader),
		Term:    r.Term,
		Granted: r.Granted,
	}
}

func preVoteRespFromPB(m *pb.RequestPreVoteResponse) raft.RequestPreVoteResponse {
	return raft.RequestPreVoteResponse{
		RPCHeader: headerFromPB(m.GetHeader()),
		Term:      m.GetTerm(),
		Granted:   m.GetGranted(),
	}
}

func timeoutNowReqToPB(group string, r *raft.TimeoutNowRequest) *pb.TimeoutNowRequest {
	return &pb.TimeoutNowRequest{Group: group, Header: headerToPB(r.RPCHeader)}
}

func timeoutNowReqFromPB(m *pb.TimeoutNowRequest) *raft.TimeoutNowRequest {
	return &raft.TimeoutNowRequest{RPCHeader: headerFromPB(m.GetHeader())}
}

func timeoutNowRespToPB(group string, r *raft.TimeoutNowResponse) *pb.TimeoutNowResponse {
	return &pb.TimeoutNowResponse{Group: group, Header: headerToPB(r.RPCHeader)}
}

func timeoutNowRespFromPB(m *pb.TimeoutNowResponse) raft.TimeoutNowResponse {
	return raft.TimeoutNowResponse{RPCHeader: headerFromPB(m.GetHeader())}
}

func snapshotReqToPB(group string, r *raft.InstallSnapshotRequest) *pb.InstallSnapshotRequest {
	return &pb.InstallSnapshotRequest{
		Group:              group,
		Header:             headerToPB(r.RPCHeader),
		SnapshotVersion:    int64(r.SnapshotVersion),
		Term:               r.Term,
		Leader:             r.Leader,
		LastLogIndex:       r.LastLogIndex,
		LastLogTerm:        r.LastLogTerm,
		Peers:              r.Peers,
		Configuration:      r.Configuration,
		ConfigurationIndex: r.ConfigurationIndex,
		Size:               r.Size,
	}
}

func snapshotReqFromPB(m *pb.InstallSnapshotRequest) *raft.InstallSnapshotRequest {
	return &raft.InstallSnapshotRequest{
		RPCHeader:          headerFromPB(m.GetHeader()),
		SnapshotVersion:    raft.SnapshotVersion(m.GetSnapshotVersion()),
		Term:               m.GetTerm(),
		Leader:             m.GetLeader(),
		LastLogIndex:       m.GetLastLogIndex(),
		LastLogTerm:        m.GetLastLogTerm(),
		Peers:              m.GetPeers(),
		Configuration:      m.GetConfiguration(),
		ConfigurationIndex: m.GetConfigurationIndex(),
		Size:               m.GetSize(),
	}
}

func snapshotRespToPB(group string, r *raft.InstallSnapshotResponse) *pb.InstallSnapshotResponse {
	return &pb.InstallSnapshotResponse{
		Group:   group,
		Header:  headerToPB(r.RPCHeader),
		Term:    r.Term,
		Success: r.Success,
	}
}

func snapshotRespFromPB(m *pb.InstallSnapshotResponse) raft.InstallSnapshotResponse {
	return raft.InstallSnapshotResponse{
		RPCHeader: headerFromPB(m.GetHeader()),
		Term:      m.GetTerm(),
		Success:   m.GetSuccess(),
	}
}

// isHeartbeat reports whether an AppendEntries request is a heartbeat (notes/raft.md §3, the same
// test raft's NetworkTransport applies): it then takes the fast path on the receiver and the
// control connection with the short heartbeat deadline on the sender.
func isHeartbeat(r *raft.AppendEntriesRequest) bool {
	leader := r.Addr
	if len(leader) == 0 {
		leader = r.Leader
	}
	return r.Term != 0 && len(leader) > 0 &&
		r.PrevLogEntry == 0 && r.PrevLogTerm == 0 &&
		len(r.Entries) == 0 && r.LeaderCommitIndex == 0
}
