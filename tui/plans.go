package tui

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// The guide's three migration paths as plans of steps. Steps the console cannot perform are
// manual (the operator confirms) or call an RPC the node may answer UNIMPLEMENTED (blocked).

const clusterNodes = 3 // the guide's example cluster

func inPlacePlan() plan {
	return plan{
		name:    "In-place",
		summary: "Upgrade a standalone v1.x node to a 3-node v2.0 cluster, keeping its data (guide: In-Place Migration).",
		steps: []step{
			preflightStep(consolepb.MigrationPath_MIGRATION_PATH_IN_PLACE,
				"v2.0 installed on node 1 and started standalone on the v1.x data with wal_format = 2 "+
					"(`chronik-server start`: v1.x can still read the data); the console is connected to it"),
			baselineStep(),
			throughputStep(false),
			backupStep(),
			{
				title:        "Migrate the WAL to V3",
				precondition: "backup done: once V3 is written, v1.x cannot read the WAL (rollback = restore the backup)",
				action:       "RPC StartWalMigration: converts every V2 segment in place while the node serves (= `chronik-server cluster --migrate-wal` at start)",
				kind:         kindRPC, danger: irreversible,
				inputPrompt: "A damaged segment stops the migration (enter). Type skip to leave damaged segments in V2 and " +
					"convert the rest (they are named in the Migration tab):",
				placeholder: "stop", defaultInput: "stop",
				run: func(ctx context.Context, env stepEnv) stepOutcome {
					resp, err := env.client.StartWalMigration(ctx, &consolepb.StartWalMigrationRequest{SkipErrors: strings.EqualFold(strings.TrimSpace(env.input), "skip")})
					if err != nil {
						return failure(err)
					}
					return stepOutcome{status: statusDone, summary: "migration " + resp.GetMigrationId() + " started (progress in the Migration tab)"}
				},
			},
			{
				title:        "Verify the WAL is V3",
				precondition: "migration started",
				action:       "the live stream shows every WAL segment of the node in V3 (Migration tab)",
				kind:         kindObserve,
				observe:      walMigrated,
			},
			{
				title:        "Restart node 1 as the cluster's bootstrap node",
				precondition: "WAL in V3; clients can tolerate a restart",
				action: "/etc/chronik/chronik.toml: wal_format = 3; [cluster] enabled = true, node_id = 1,\n" +
					"  advertised_node_addr = \"node1.internal:9093\", seed_nodes = []\n" +
					"systemctl restart chronik   # = chronik-server cluster; its data becomes the cluster's",
				kind: kindManual, danger: destructive,
			},
			clusterUpStep("node 1 restarted with the [cluster] config"),
			addNodeStep(2, "node2.internal:9093", `seed_nodes = ["1@node1.internal:9093"]`),
			addNodeStep(3, "node3.internal:9093", `seed_nodes = ["1@node1.internal:9093", "2@node2.internal:9093"]`),
			validateStep("all nodes joined; the baselines of steps 2 and 3 are compared"),
		},
	}
}

// walMigrated holds when every node in the live stream reports all its segments in V3.
func walMigrated(st *consolepb.ClusterState) (bool, string) {
	if st == nil {
		return false, "no cluster state received yet"
	}
	if len(st.GetMigration()) == 0 {
		return false, "the node reports no WAL migration state"
	}
	var parts []string
	ok := true
	for _, m := range st.GetMigration() {
		parts = append(parts, fmt.Sprintf("node %d: %d/%d segments V3 (%s)", m.GetNodeId(), m.GetSegmentsV3(), m.GetSegmentsTotal(), m.GetState()))
		if m.GetState() == "failed" {
			return false, fmt.Sprintf("node %d: migration failed: %s", m.GetNodeId(), m.GetDetail())
		}
		if m.GetState() == "running" || m.GetState() == "unknown" || m.GetSegmentsV3() < m.GetSegmentsTotal() {
			ok = false
		}
	}
	return ok, strings.Join(parts, "; ")
}

func blueGreenPlan() plan {
	return plan{
		name:    "Blue-green",
		summary: "Build a green v2.0 cluster beside the blue one, mirror the data, switch traffic (guide: Blue-Green Migration).",
		steps: []step{
			{
				title:        "Bootstrap the green cluster",
				precondition: "three new hosts with v2.0 installed; this console connected to green-1 (chronik-tui --connect green-1:9093)",
				action: `green-1: chronik-server cluster --node-id 1 --seed-nodes ""` + "\n" +
					`green-2: chronik-server cluster --node-id 2 --seed-nodes "1@green-1:9093"` + "\n" +
					`green-3: chronik-server cluster --node-id 3 --seed-nodes "1@green-1:9093,2@green-2:9093"`,
				kind: kindManual, danger: destructive,
			},
			{
				title:        "Verify the green cluster is up",
				precondition: "the three green nodes started",
				action:       fmt.Sprintf("the live stream shows cluster mode, a leader and %d voters", clusterNodes),
				kind:         kindObserve,
				observe:      clusterOf(clusterNodes),
			},
			preflightStep(consolepb.MigrationPath_MIGRATION_PATH_BLUE_GREEN, "the console is connected to a green node"),
			{
				title:        "Mirror blue → green (built-in mirror)",
				precondition: "green is up; green can reach the blue brokers on their Kafka port",
				action: "RPC MirrorStart(source_bootstrap = blue brokers, every topic): keys, headers, timestamps, partitions and\n" +
					"  consumer-group offsets carried over (or by hand: MirrorMaker, or backup + restore, docs/migration.md)",
				kind: kindRPC, danger: destructive,
				inputPrompt: "Bootstrap servers of the blue cluster:", placeholder: "blue-1:9092,blue-2:9092",
				run: func(ctx context.Context, env stepEnv) stepOutcome {
					resp, err := env.client.MirrorStart(ctx, env.input, "")
					if err != nil {
						return failure(err)
					}
					return stepOutcome{status: statusDone, summary: "mirror " + resp.GetMirrorId() + " started (progress in the Migration tab)"}
				},
			},
			throughputStep(true),
			{
				title:        "High-watermark parity (records the blue baseline)",
				precondition: "blue producers paused or stopped, so that the mirror can catch up",
				action:       "every mirrored partition's high watermark on green equal to blue's (the mirror's view of blue), lag 0",
				kind:         kindObserve, timeout: 30 * time.Minute,
				observe:  hwmParity,
				observed: blueBaseline,
			},
			validateStep("parity reached; green is compared with blue's high watermarks and throughput"),
			{
				title:        "Cut over to green",
				precondition: "validation passed",
				action: "1. stop the producers on blue; 2. wait for mirror lag 0 (Migration tab);\n" +
					"  3. point producers at green, then consumers (their group offsets were translated by the mirror);\n" +
					"  4. DNS/load balancer: 10% to green, watch, then 100%",
				kind: kindManual, danger: destructive,
			},
			{
				title:        "Stop the mirror",
				precondition: "no client writes to blue any more",
				action:       "RPC MirrorStop for every running mirror (its offset mapping is kept)",
				kind:         kindRPC, danger: destructive,
				run: stopMirrors,
			},
			{
				title:        "Keep blue for 24-48 hours, then decommission it",
				precondition: "24-48 hours on green without problems (blue is the rollback)",
				action:       "stop the blue nodes (systemctl stop chronik) and release them",
				kind:         kindManual, danger: irreversible, aboutBlue: true,
			},
		},
	}
}

func freshPlan() plan {
	return plan{
		name:    "Fresh",
		summary: "Bootstrap a new empty 3-node v2.0 cluster and re-ingest data (guide: Fresh Cluster Setup).",
		steps: []step{
			{
				title:        "Bootstrap node 1",
				precondition: "three hosts with v2.0 installed, port 9093 open between them; this console connected to node 1",
				action:       `chronik-server cluster --node-id 1 --seed-nodes ""`,
				kind:         kindManual, danger: destructive,
			},
			preflightStep(consolepb.MigrationPath_MIGRATION_PATH_FRESH, "node 1 runs `chronik-server cluster`"),
			clusterUpStep("node 1 runs `chronik-server cluster`"),
			addNodeStep(2, "node2:9093", `chronik-server cluster --node-id 2 --seed-nodes "1@node1:9093"`),
			addNodeStep(3, "node3:9093", `chronik-server cluster --node-id 3 --seed-nodes "1@node1:9093,2@node2:9093"`),
			validateStep("three nodes running"),
			{
				title:        "Re-ingest data from the source systems",
				precondition: "validation passed",
				action:       "point producers at the new cluster",
				kind:         kindManual, danger: safe,
			},
		},
	}
}

// clusterOf holds when the node runs in cluster mode with a leader and n voters.
func clusterOf(n int) func(*consolepb.ClusterState) (bool, string) {
	return func(st *consolepb.ClusterState) (bool, string) {
		up, detail := clusterUp(st)
		if !up {
			return false, detail
		}
		voters := 0
		for _, m := range st.GetMembers() {
			if m.GetVoter() {
				voters++
			}
		}
		if voters < n {
			return false, fmt.Sprintf("%d of %d voters (nodes still joining?)", voters, n)
		}
		return true, fmt.Sprintf("leader node %d, %d voters", st.GetLeaderId(), voters)
	}
}

// throughputStep measures the produce throughput before the migration: of this node
// (in-place) or of the blue cluster the mirror reads (blue-green).
func throughputStep(blue bool) step {
	s := step{
		title:        "Measure produce throughput (performance baseline)",
		precondition: "a token; a quiet moment (the measurement loads the node for a few seconds)",
		action:       "RPC MeasureProduce(topic = the validation topic, 3 s or 256 MiB of 1 KiB records, acks=all)",
		kind:         kindRPC,
	}
	if blue {
		s.precondition = "the mirror runs (its source is the blue cluster measured); a quiet moment on blue"
		s.action = "RPC MeasureProduce(bootstrap = the mirror's blue brokers, topic <validation topic>-blue, 3 s or 256 MiB of 1 KiB records)"
	}
	s.run = func(ctx context.Context, env stepEnv) stepOutcome {
		req := &consolepb.MeasureProduceRequest{Topic: env.validationTopic}
		if blue {
			ms := env.state.GetMirrors()
			if len(ms) == 0 {
				return stepOutcome{status: statusFailed, summary: "no mirror: start the mirror first (its source is what is measured)",
					next: "run the mirror step, then this one again (x)"}
			}
			req.Bootstrap, req.Topic = ms[0].GetSourceBootstrap(), env.validationTopic+"-blue"
		}
		resp, err := env.client.MeasureProduce(ctx, req)
		if err != nil {
			return failure(err)
		}
		return stepOutcome{status: statusDone,
			summary: fmt.Sprintf("%.0f records/s (%.1f MiB/s) via %s", resp.GetRecordsPerSec(), resp.GetMbPerSec(), resp.GetBootstrap()),
			record: func(b *baseline) {
				b.recordsPerSec, b.recordBytes, b.measuredOn = resp.GetRecordsPerSec(), resp.GetRecordBytes(), resp.GetBootstrap()
			}}
	}
	return s
}

// hwmParity holds when every mirror runs without lag and every mirrored partition's high
// watermark here equals the source's as the mirror last saw it.
func hwmParity(st *consolepb.ClusterState) (bool, string) {
	if len(st.GetMirrors()) == 0 {
		return false, "no mirror on this node: start it (step 4)"
	}
	green := map[string]int64{}
	for _, t := range st.GetTopics() {
		for _, p := range t.GetPartitions() {
			green[fmt.Sprintf("%s/%d", t.GetName(), p.GetPartition())] = p.GetHighWatermark()
		}
	}
	var lag int64
	var parts, differ int
	var records int64
	var firstDiff string
	for _, m := range st.GetMirrors() {
		if m.GetState() == "failed" {
			return false, "mirror " + m.GetMirrorId() + " failed: " + m.GetError()
		}
		lag += m.GetLag()
		records += m.GetRecords()
		for _, p := range m.GetPartitions() {
			parts++
			key := fmt.Sprintf("%s/%d", p.GetTopic(), p.GetPartition())
			if g, ok := green[key]; !ok || g != p.GetSourceHighWatermark() {
				differ++
				if firstDiff == "" {
					firstDiff = fmt.Sprintf(" (%s: blue %d, green %d)", key, p.GetSourceHighWatermark(), g)
				}
			}
		}
	}
	if parts == 0 {
		return false, "the mirror has found no topic to copy yet"
	}
	if lag > 0 || differ > 0 {
		return false, fmt.Sprintf("mirror lag %d, %d of %d partitions differ%s", lag, differ, parts, firstDiff)
	}
	return true, fmt.Sprintf("parity: %d partitions, high watermarks equal on blue and green (%d records mirrored)", parts, records)
}

// blueBaseline records blue's topics and high watermarks (the mirror's view) as the baseline.
func blueBaseline(st *consolepb.ClusterState) func(*baseline) {
	topics := map[string]bool{}
	var hwms []*consolepb.PartitionOffset
	for _, m := range st.GetMirrors() {
		for _, p := range m.GetPartitions() {
			topics[p.GetTopic()] = true
			hwms = append(hwms, &consolepb.PartitionOffset{Topic: p.GetTopic(), Partition: p.GetPartition(), Offset: p.GetSourceHighWatermark()})
		}
	}
	names := slices.Sorted(maps.Keys(topics))
	return func(b *baseline) { b.topics, b.hwms = names, hwms }
}

// stopMirrors stops every running mirror of the node.
func stopMirrors(ctx context.Context, env stepEnv) stepOutcome {
	var stopped []string
	for _, m := range env.state.GetMirrors() {
		if m.GetState() != "running" && m.GetState() != "starting" {
			continue
		}
		if _, err := env.client.MirrorStop(ctx, m.GetMirrorId()); err != nil {
			return failure(err)
		}
		stopped = append(stopped, fmt.Sprintf("%s (%d records mirrored)", m.GetMirrorId(), m.GetRecords()))
	}
	if len(stopped) == 0 {
		return stepOutcome{status: statusDone, summary: "no mirror was running"}
	}
	return stepOutcome{status: statusDone, summary: "stopped " + strings.Join(stopped, ", ")}
}

func preflightStep(path consolepb.MigrationPath, pre string) step {
	return step{
		title:        "Preflight checks",
		precondition: pre,
		action:       fmt.Sprintf("RPC Preflight(path = %s)", strings.TrimPrefix(path.String(), "MIGRATION_PATH_")),
		kind:         kindRPC,
		run: func(ctx context.Context, env stepEnv) stepOutcome {
			resp, err := env.client.Preflight(ctx, path)
			if err != nil {
				return failure(err)
			}
			return checksOutcome(fmt.Sprintf("%d checks on node %d", len(resp.GetChecks()), resp.GetNodeId()), resp.GetChecks())
		},
	}
}

func baselineStep() step {
	return step{
		title:        "Record the baseline (topics, high watermarks)",
		precondition: "producers stopped or paused, so the high watermarks stay put",
		action:       "record topics and high watermarks from the live stream (= curl :8080/metrics | grep chronik_high_watermark)",
		kind:         kindLocal,
		run: func(_ context.Context, env stepEnv) stepOutcome {
			if env.state == nil {
				return stepOutcome{status: statusFailed, summary: "no cluster state received yet"}
			}
			b := &baseline{}
			for _, t := range env.state.GetTopics() {
				if t.GetName() == env.validationTopic { // the console's own writes
					continue
				}
				b.topics = append(b.topics, t.GetName())
				for _, p := range t.GetPartitions() {
					b.hwms = append(b.hwms, &consolepb.PartitionOffset{Topic: t.GetName(), Partition: p.GetPartition(), Offset: p.GetHighWatermark()})
				}
			}
			slices.Sort(b.topics)
			var lines []string
			for _, h := range b.hwms {
				lines = append(lines, fmt.Sprintf("%s/%d: %d", h.GetTopic(), h.GetPartition(), h.GetOffset()))
			}
			if len(lines) > 8 {
				lines = append(lines[:8], fmt.Sprintf("… and %d more", len(b.hwms)-8))
			}
			return stepOutcome{status: statusDone, summary: fmt.Sprintf("recorded %s, %s", plural(len(b.topics), "topic"), plural(len(b.hwms), "partition")),
				lines: lines, record: func(into *baseline) { into.topics, into.hwms = b.topics, b.hwms }}
		},
	}
}

func backupStep() step {
	return step{
		title:        "Back up the data",
		precondition: "disk space for a compressed copy of the WAL next to the data directory",
		action:       "RPC Backup(output_path = chronik-backup-<date>.tar.gz, beside data_dir), read back and verified — or `chronik-server backup --output FILE`",
		kind:         kindRPC, danger: destructive, timeout: 30 * time.Minute,
		run: func(ctx context.Context, env stepEnv) stepOutcome {
			name := "chronik-backup-" + env.now.UTC().Format("20060102-150405") + ".tar.gz"
			last, err := env.client.Backup(ctx, name, nil)
			if err != nil {
				return failure(err)
			}
			if !last.GetVerified() {
				return stepOutcome{status: statusFailed, summary: "written " + last.GetOutputPath() + " but not verified by the node",
					next: "verify it by hand (`chronik-server restore --input FILE --data-dir /tmp/check`), or run the step again (x)"}
			}
			return stepOutcome{status: statusDone,
				summary: fmt.Sprintf("written and verified %s: %d files, %s (from %s of logs), %s, %s, %d records", last.GetOutputPath(), last.GetFilesDone(),
					humanBytes(last.GetBytesDone()), humanBytes(last.GetBytesTotal()), plural(int(last.GetTopics()), "topic"),
					plural(int(last.GetPartitions()), "partition"), last.GetRecords())}
		},
	}
}

// clusterUpStep waits until the node runs in cluster mode with a leader.
func clusterUpStep(pre string) step {
	return step{
		title:        "Verify the cluster is up (leader elected)",
		precondition: pre,
		action:       "the live stream shows cluster mode and a leader (= curl :8080/health)",
		kind:         kindObserve,
		observe:      clusterUp,
	}
}

// clusterUp holds when the node runs in cluster mode with a leader.
func clusterUp(st *consolepb.ClusterState) (bool, string) {
	switch {
	case st == nil:
		return false, "no cluster state received yet"
	case st.GetMode() != consolepb.Mode_MODE_CLUSTER:
		return false, fmt.Sprintf("node %d runs %s; restart it with `chronik-server cluster`", st.GetNodeId(), modeName(st.GetMode()))
	case st.GetLeaderId() == 0:
		return false, "no leader elected"
	}
	return true, fmt.Sprintf("leader node %d, %s", st.GetLeaderId(), plural(len(st.GetMembers()), "member"))
}

func addNodeStep(id uint64, placeholder, how string) step {
	return step{
		title:        fmt.Sprintf("Add node %d", id),
		precondition: fmt.Sprintf("node %d runs v2.0 (%s)", id, how),
		action:       fmt.Sprintf("RPC AddNode(node_id = %d, address): joins as non-voter, promoted once caught up", id),
		kind:         kindRPC, danger: destructive, timeout: 5 * time.Minute,
		inputPrompt: fmt.Sprintf("Advertised node address of node %d (host:9093):", id), placeholder: placeholder,
		run: func(ctx context.Context, env stepEnv) stepOutcome {
			if _, err := env.client.AddNode(ctx, id, env.input); err != nil {
				return failure(err)
			}
			return stepOutcome{status: statusDone, summary: fmt.Sprintf("node %d (%s) added", id, env.input)}
		},
	}
}

func validateStep(pre string) step {
	return step{
		title:        "Validate (Migration Success Criteria)",
		precondition: pre,
		action: "RPC RunValidation(expected_nodes = " + strconv.Itoa(clusterNodes) +
			", baseline) — with a token also produce/consume on every node, throughput vs baseline, a leadership failover",
		kind: kindRPC, timeout: 2 * time.Minute,
		run: func(ctx context.Context, env stepEnv) stepOutcome {
			req := &consolepb.RunValidationRequest{ExpectedNodes: clusterNodes}
			if env.baseline != nil {
				req.ExpectedTopics = env.baseline.topics
				req.ExpectedHighWatermarks = env.baseline.hwms
				req.BaselineRecordsPerSec, req.BaselineRecordBytes = env.baseline.recordsPerSec, env.baseline.recordBytes
			}
			if env.client.HasToken() && !env.client.ReadOnly() {
				req.ProduceConsumeTopic = env.validationTopic
				req.FailoverTest = true
			}
			resp, err := env.client.RunValidation(ctx, req)
			if err != nil {
				return failure(err)
			}
			return checksOutcome(fmt.Sprintf("%d criteria on node %d", len(resp.GetChecks()), resp.GetNodeId()), resp.GetChecks())
		},
	}
}
