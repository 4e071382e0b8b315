// Package raftpb holds the protobuf messages and the gRPC services of Chronik's node-to-node
// traffic: the Raft transport (raft.proto) and cluster membership and proposal forwarding
// (cluster.proto). Only raftstore uses it; other packages never see these types.
package raftpb

//go:generate bash generate.sh
