// Package raftstore wires hashicorp/raft (v1.8.0) for Chronik: a gRPC Raft transport shared by
// every Raft group of a node, raft-wal log/stable stores, file snapshot stores, the Raft tuning
// and a fault injector for tests. (Metadata/data FSMs, join and membership come later.)
//
// # Transport
//
// One gRPC service (raftpb.RaftTransport) per node, on the node's gRPC listener (9093), which the
// console service shares. Wiring:
//
//	netw, err := raftstore.NewNetwork(raftstore.NetworkConfigFrom(cfg, advertisedAddr, logger))
//	srv := grpc.NewServer(raftstore.ServerOptions()...) // message limits: MaxMessageSize
//	netw.Register(srv)                                  // plus the console service
//	trans := netw.Transport("meta")                     // one view per Raft group
//	r, err := raft.NewRaft(rcfg, fsm, w, w, snaps, trans)
//	...
//	r.Shutdown().Error() // closes trans (raft.WithClose)
//	netw.Close()         // remaining views and all peer connections; srv is the caller's
//
// Every message carries its group id; the service routes it to that group's GroupTransport and
// answers codes.NotFound for a group not running on this node. All views report the same
// LocalAddr. A GroupTransport implements raft.Transport, raft.WithPreVote and raft.WithClose:
//
//   - Heartbeats (AppendEntries with a term and leader address and nothing else, the test raft's
//     NetworkTransport uses) go to the SetHeartbeatHandler callback on the receiver, never through
//     Consumer(), and travel with votes, pre-votes and TimeoutNow on a dedicated "control"
//     connection per peer; appends, pipelines and snapshots use a second "bulk" connection.
//   - Every call has a deadline (Deadlines; from Config: heartbeats HT/2, votes 2×HT, appends
//     5×HT and snapshots 25×HT, each plus 1 s per 8 MiB carried). Dropped, late or failed calls
//     return errors; raft retries with its own backoff.
//   - AppendEntriesPipeline is a bidirectional stream with at most MaxInFlight unanswered
//     requests and in-order responses; with EnablePipeline off it returns
//     raft.ErrPipelineReplicationNotSupported. Any stream error fails the pipeline and raft falls
//     back to plain AppendEntries.
//   - An AppendEntries larger than 64 MiB is split into consecutive requests (each naming the
//     previous part's last entry; commit index capped at the part's last entry); a single entry
//     may be up to MaxMessageSize (64 MiB + 1 MiB).
//   - InstallSnapshot is a client stream: metadata first, then exactly Size bytes in 1 MiB
//     chunks. The receiver hands raft an io.Reader of exactly Size bytes (a short stream is
//     io.ErrUnexpectedEOF) and drains what raft leaves unread before answering.
//   - Connections to a peer are created on first use, shared by all groups and re-established by
//     gRPC with exponential backoff (50 ms … 1 s) after failures.
//   - Every field of raft's RPC structs is carried, including RPCHeader.ID/Addr and each Log's
//     Extensions and AppendedAt (returned in UTC); convert_test.go fails when a raft upgrade adds a
//     field that is not.
//
// # Storage
//
// OpenLogStore opens a raft-wal WAL as a *LogStore (LogStore + StableStore + MonotonicLogStore;
// pass it twice to raft.NewRaft) with Config.SegmentSize segments (8 MiB by default). Its Close
// also closes raft-wal's BoltDB, which wal.WAL.Close leaves open; opening a directory that is
// already open fails with ErrLogInUse instead of blocking on BoltDB's lock. OpenSnapshotStore
// opens a raft.FileSnapshotStore. raft-wal does not track commit indexes, so RaftConfig leaves
// RestoreCommittedLogs off.
//
// # Configuration
//
// Config holds the [cluster.raft] tuning; DefaultConfig gives HeartbeatTimeout = ElectionTimeout
// = 200 ms, LeaderLeaseTimeout = 100 ms, MaxAppendEntries 512, BatchApplyCh on, the pipeline on
// with 8 requests in flight. Config.RaftConfig builds a validated *raft.Config whose logger
// forwards to the injected slog.Logger (NewHCLogger).
//
// # Fault injection
//
// Faults (tests only) is applied on the client side of every call of the Networks sharing it:
// random loss of requests and responses, delays, isolation of nodes and one-way link cuts.
package raftstore
