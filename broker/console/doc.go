// Package console implements the console API (api/console.proto,
// chronik.console.v1.ConsoleService) on top of a node.
//
// The server needs only small interfaces from the node, so the same code serves a standalone
// node and a Raft cluster node:
//
//   - Source (required): the node's identity, members (role, term, last contact, lag), leader,
//     topics with partition high watermarks, committed offsets, group counts, WAL migration
//     state per node, the events ring and a way to wait for the next change.
//   - Admin (optional): SetHighWatermark. Nil → that RPC answers UNIMPLEMENTED.
//   - Backuper (optional): online backup to a file on the node; the server reads the archive
//     back against its manifest before it reports it done (backup.go). Nil → UNIMPLEMENTED.
//   - Membership (optional, cluster mode): AddNode (waits for the node to join), RemoveNode,
//     TransferLeadership. Nil → those RPCs answer UNIMPLEMENTED naming cluster mode.
//   - Mirrors (optional): the built-in mirror (broker/mirror) behind MirrorStart/Stop/Status and
//     ClusterState.mirrors. Nil → UNIMPLEMENTED.
//   - WalMigrator (optional, standalone): StartWalMigration, the live V2 → V3 conversion.
//
// The server itself measures produce throughput (MeasureProduce, measure.go) and runs the
// guide's success criteria (RunValidation: validate.go; the failover and performance criteria
// in failover.go) through real Kafka clients.
//
// Every RPC the node cannot really perform answers codes.Unimplemented with a message naming
// what is missing; nothing reports success without doing the work. Mutating RPCs check the
// admin token (`authorization: Bearer <token>` metadata) first and answer codes.Unauthenticated
// without it, also when the node has no admin_token configured.
//
// WatchCluster: one sampler goroutine per Server (Run) builds the cluster state whenever the
// Source reports a change or an event is appended, at most every MinInterval (250 ms), and at
// least every SampleInterval (1 s, so rates decay and in-memory group states are seen). Produce
// rates come from high-watermark deltas over RateWindow, consume rates from the advance of
// committed group offsets. Each stream sends the latest state when it changes and a heartbeat
// after HeartbeatInterval (2 s) without one; a slow stream skips intermediate states.
//
// Events is a bounded ring of operator-visible events (topic created, leader change,
// migration steps, and every log record at INFO or above when its slog handler is installed).
package console
