// Package mirror is Chronik's built-in mirror for blue-green migrations: it copies the
// topics of another Kafka-compatible cluster (the source, "blue") into this node (the
// destination, "green") and keeps consumer-group offsets translated, so that clients can
// be switched over. The console drives it (MirrorStart, MirrorStop, MirrorStatus).
//
// # API
//
//	m, err := mirror.Open(mirror.Config{Dir: dataDir + "/mirror", LocalBootstrap: "127.0.0.1:9092", Logger: l})
//	go m.Run(ctx)                                  // resumes mirrors persisted as running
//	id, err := m.Start(ctx, "blue-1:9092,blue-2:9092", "orders|payments.*")
//	m.Status()                                     // []Status sorted by id
//	m.Translate(id, "orders", 0, 1234)             // source position → destination position
//	m.Stop(ctx, id)                                // flush, final checkpoint, persisted "stopped"
//
// Start fails with ErrNotRunning unless Run is running, with a regex error, or when no
// source broker answers within ctx. Stop of an unknown id wraps ErrUnknownMirror.
//
// # Copying
//
// Topics are those of the source whose whole name matches the regex ("" = every topic);
// internal topics (names starting "__") are never mirrored. The source is read with a kgo
// consumer without a group, partitions added explicitly from each partition's resume
// point (first sight: the source log start). Records are produced to LocalBootstrap by an
// idempotent acks=all producer with the manual partitioner: same partition, key (nil stays
// nil), value, headers and timestamp (as CreateTime). Destination topics are created on
// discovery with the source's partition count, replication factor -1 and the source's
// topic-level settings of retention.ms, retention.bytes, cleanup.policy,
// max.message.bytes and segment.bytes; a destination topic with fewer partitions grows, one
// with more is reported in Status.Error and not mirrored. A destination partition that
// already holds records at first sight is reported (naming topic and partition) and not
// mirrored: a mirror needs an empty destination or its own state. An existing empty
// destination topic with the right partition count is used as it is (so an operator can
// pre-create a topic with other settings). When the source starts at offset 0 and has no
// gaps, destination offsets equal source offsets.
//
// # Exactly once across restarts and crashes
//
// Each mirror checkpoints, per partition, the next source offset, the next destination
// offset and the offset mapping's sync points, taken from the offsets the destination
// acknowledged (in order), every CheckpointInterval while records flow and at stop; the
// file is replaced atomically (temp file, fsync, rename, directory fsync). A partition's
// starting point is checkpointed before its first record is produced. On resume the
// destination high watermark H is compared with the checkpoint's next destination offset
// D: H == D resumes; H > D skips the first H-D source records from the checkpoint's
// source offset (produced, but not checkpointed before a crash: records map one to one,
// in order, and the idempotent producer keeps the destination a prefix); H < D fails the
// mirror ("destination lost records"). Any failed produce fails the mirror; a failed mirror
// keeps its progress, is persisted as "failed" and is not resumed.
//
// # Offset translation and groups
//
// The mapping of a partition is a list of sync points (source offset, destination offset),
// one added whenever destination-source changes (source gaps, a non-empty starting
// point). Translate maps a consumer position: offsets in [first sync point, next source
// offset) and the next source offset itself (→ next destination offset); a position inside
// a source gap maps to the destination offset of the next record. Every GroupSyncInterval
// the source's groups (ListGroups, OffsetFetch) are translated for the partitions the
// mirror copies and committed on the destination (OffsetCommit, generation -1, member ""),
// except for groups with members on the destination (DescribeGroups state neither Empty
// nor Dead) and except where the destination's committed offset is already at or past the
// translated one (offsets are never moved back).
//
// # State files (Config.Dir)
//
//	mirrors.json             every mirror: id, source, topic_regex, state (running|stopped|failed), error
//	<id>.checkpoint.json     records mirrored and, per partition, next_source_offset, next_dest_offset,
//	                         source_log_start, source_high_watermark, sync_points [[src, dst], ...]
//
// # Logs
//
// INFO "mirror started" (mirror, source, regex), "mirror caught up" once per catch-up,
// "mirror stopped"; ERROR "mirror failed", "mirror: topic not mirrored" (topic, err) and
// fetch data loss (topic, partition).
//
// Every goroutine belongs to a mirror's run, which Run starts and waits for; Stop and the
// end of Run's ctx stop it. Limits: records larger than the destination topic's
// max.message.bytes fail the mirror; aborted transactional records of the source are
// copied (the source is read uncommitted, as MirrorMaker does).
package mirror
