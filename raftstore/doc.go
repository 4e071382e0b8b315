// Package raftstore is Chronik's Raft clustering: a gRPC Raft transport shared by every Raft
// group of a node, raft-wal stores, the metadata group ("ChronikMetaLog") and the data
// replication groups with their state machines and snapshots, membership (bootstrap, join,
// promotion, removal) and the views the broker needs. broker never imports raftstore;
// cmd/chronik-server wires a Node into broker/node (node.WithCluster).
//
// # Node
//
//	n, err := raftstore.NewNode(raftstore.NodeConfig{NodeID: 1, DataDir: dir, RaftAddr: "node1:9093",
//		KafkaHost: "node1", KafkaPort: 9092, Seeds: seeds, Logs: manager, Meta: meta.NewStore(logger), ...})
//	n.Register(grpcServer)        // Raft transport + ClusterService on the node's gRPC listener
//	n.SetTopicLogConfig(kafkaServer.TopicLogConfig)
//	err = n.Start(ctx)            // bootstrap, restart or join (in the background)
//	... n.Status() (httpapi.Status), n.KafkaCluster() (kafka.Cluster), n.Groups() (kafka.Groups),
//	    n.RegisterAdmin(httpServer) (POST /admin/cluster/remove), n.Fatal(), n.Joined()
//	n.Shutdown(ctx)               // leadership handed over first, then everything stops
//
// Raft state lives under <data_dir>/wal/__meta: raft_wal and raft_snapshots (metadata group),
// raft_data/<g>/{wal,snapshots,staging} (data group g). <data_dir>/node.id holds the node UUID.
//
// # Metadata group
//
// Entries are meta.Store commands or cluster commands (members with their Raft and Kafka
// addresses and UUIDs, data-group replica sets and announced leaders), see entry.go and
// clusterstate.go. The FSM (metafsm.go) applies them to the meta.Store and the ClusterState and
// mirrors every meta command into the __meta partition log with raft_meta {term, index,
// leader}, so `debug wal-dump` shows it and the log stays replayable by meta.Open. Its snapshot
// is the ClusterState plus meta.Store.Snapshot(). Proposals from followers go to the leader
// over ClusterService.Propose; the proposer returns once its own store applied the entry
// (read-your-writes). SyncMetadata gives followers linearizable metadata reads (a leader barrier
// shared by concurrent callers, then ReadIndex).
//
// Bootstrap (no Raft state, no seeds) writes an initial snapshot at index 1 instead of
// raft.BootstrapCluster's configuration entry: it holds the state that existed before the
// cluster — a standalone metadata log is imported — so every node that joins later receives it
// as a snapshot. Join (no Raft state, seeds): ClusterService.Join on a seed (forwarded to the
// leader by a LeaderHint), recorded in the ClusterState and added as a non-voter; the leader's
// control loop promotes caught-up non-voters up to 3 (5 with five or more members) voters and
// places data-group replicas. A node id already recorded with another UUID (a wiped disk) is
// refused (ErrNodeConflict) until removed; a node whose Raft state belongs to another cluster
// than its seeds' stops with ConflictingLeader.
//
// # Data groups
//
// A fixed pool of groups (NodeConfig.DataGroups, set at bootstrap); partition p of topic t
// belongs to group GroupOf(n, t, p). Each group has min(ReplicationFactor, members) replicas;
// the first is the preferred leader, rotated over the members so that leaders spread, and the
// group's leader hands leadership to it once it is a caught-up voter. An entry is one Produce
// partition payload (datafsm.go); the FSM appends it to the partition log with raft_meta,
// skipping entries at or below the log's last Raft index, after the node's metadata reached the
// index the leader had (so every replica agrees whether the topic exists). The leader serves a
// partition (replicated.go) once a barrier applied every earlier entry: Append proposes, waits
// for commit, local apply and the local fsync; reads come from the local replica. Other nodes
// answer NOT_LEADER_OR_FOLLOWER. Snapshots (datasnap.go) are hard-linked segment manifests,
// streamed as segment bytes to a replica that needs them.
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
