// Package meta is Chronik's metadata state machine ("ChronikMetaLog"):
// topics (name, id, partition count, replication factor, configs), consumer
// group records, committed offsets and producer-id allocation.
//
// Every mutation is a command: one Kafka RecordBatch (magic 2, uncompressed,
// producer id -1) holding one record whose key is the command kind
// ("create_topic", "commit_offsets", …) and whose value is the command as
// JSON. A mutation is encoded, handed to a Proposer, and applied by Apply,
// the deterministic FSM step:
//
//	encode command → Proposer.Propose(cmd) → Store.Apply(cmd) → result to the caller
//
// Standalone (Open): the proposer appends the command to a storage.Log in the
// metadata directory (<data_dir>/wal/__meta, record type Metadata; Append
// fsyncs), then applies it, one proposal at a time so that apply order is log
// order. Open replays that log. Cluster mode replaces the proposer with Raft
// (SetProposer); the Raft FSM calls Apply for each committed entry, and
// Snapshot/Apply of a "snapshot" command serve as FSM snapshot and restore.
//
// Semantic failures (topic exists, unknown topic, …) are decided in Apply, so
// every replica reaches the same state; the proposing caller receives them as
// errors wrapping kerr codes (errors.Is(err, kerr.TopicAlreadyExists)). The
// in-memory state is checked first too, so most failing requests never reach
// the log.
//
// All mutations are durable before they return; reads come from memory and
// are safe for concurrent use. Compact (standalone) appends a full-state
// snapshot command and drops the log before it; it also runs automatically
// every CompactEvery commands.
package meta
