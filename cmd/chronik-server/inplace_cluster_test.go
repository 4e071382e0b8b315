package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chronik-stream/chronik/raftstore"
)

// TestClusterInPlaceMigrationSnapshot runs the in-place cluster path on the
// rich v1.x fixture (three topics, every compression codec, keys, headers,
// timestamps, idempotent producers, committed group offsets): the v1 node is
// snapshotted through a standalone v1-format server process, node 1 restarts
// as `cluster --migrate-wal`, nodes 2 and 3 join, and then every record
// (topic, partition, offset, key, value, headers, timestamp), every log start
// and high watermark, every topic config and every group offset read from
// each cluster node equals the v1 snapshot, and each node's
// chronik_high_watermark lines in /metrics equal the v1 node's.
func TestClusterInPlaceMigrationSnapshot(t *testing.T) {
	fx := migBuild(t)
	dir := fx.copyTo(t)

	sa := startServer(t, dir, "--wal-format", "2")
	before := migSnap(t, sa.kafkaAddr())
	migEqual(t, before, fx.snap)
	if len(before.Records) == 0 || len(before.Groups) == 0 || len(before.Topics) != len(migTopics) {
		t.Fatalf("the v1 snapshot holds %d records, %d groups, %d topics: the fixture is not what this test needs",
			len(before.Records), len(before.Groups), len(before.Topics))
	}
	t.Logf("v1 snapshot: %d records in %d topics, %d groups, %d segment files", len(before.Records), len(before.Topics), len(before.Groups), fx.segments)
	beforeHWM := hwmMetrics(t, sa.httpURL())
	if len(beforeHWM) == 0 {
		t.Fatal("the v1 node's /metrics has no chronik_high_watermark lines")
	}
	if err := sa.stop(); err != nil {
		t.Fatal(err)
	}

	n1 := startClusterNodeIn(t, 1, "", dir, "--migrate-wal")
	if !strings.Contains(n1.logs.String(), "WAL migration complete") {
		t.Fatalf("node 1 did not log the completed WAL migration")
	}
	c := testClusterProcs{n1}
	c = append(c, startClusterNode(t, 2, c.seeds()))
	c = append(c, startClusterNode(t, 3, c.seeds()))
	c.waitMembers(3, 3)
	c.waitDataGroups(raftstore.DefaultDataGroups, 3, true)
	for _, p := range c {
		var got []string
		waitUntil(t, 30*time.Second, "the v1 high watermarks in /metrics of every node", func() bool {
			got = hwmMetrics(t, p.httpURL())
			return strings.Join(got, "\n") == strings.Join(beforeHWM, "\n")
		})
	}
	for _, p := range c {
		t.Logf("reading everything through node %d", p.id)
		migEqual(t, migSnap(t, p.kafkaAddr()), before)
	}
	for _, p := range c {
		if err := p.stop(); err != nil {
			t.Fatalf("node %d: %v", p.id, err)
		}
	}
}
