// Package raftpb holds the protobuf messages and the gRPC service of Chronik's Raft transport,
// generated from raft.proto. Only raftstore uses it; other packages never see these types.
package raftpb

//go:generate bash generate.sh
