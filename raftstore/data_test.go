package raftstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-stream/chronik/broker/kafka"
	"github.com/chronik-stream/chronik/broker/storage"
)

// testBatch encodes one uncompressed magic-2 RecordBatch holding the values (producer id -1).
func testBatch(values ...string) []byte {
	var records []byte
	now := time.Now().UnixMilli()
	for i, v := range values {
		rec := kmsg.Record{OffsetDelta: int32(i), Value: []byte(v)}
		rec.Length = int32(len(rec.AppendTo(nil)) - 1)
		records = rec.AppendTo(records)
	}
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(len(values) - 1),
		FirstTimestamp: now, MaxTimestamp: now, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(len(values)), Records: records,
	}
	b.Length = int32(49 + len(records))
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	return out
}

// batchValues decodes the record values of concatenated batches.
func batchValues(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	for len(b) > 0 {
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(b); err != nil {
			t.Fatalf("decoding batch: %v", err)
		}
		recs := rb.Records
		for i := int32(0); i < rb.NumRecords; i++ {
			var r kmsg.Record
			if err := r.ReadFrom(recs); err != nil {
				t.Fatalf("decoding record: %v", err)
			}
			out = append(out, string(r.Value))
			recs = recs[len(r.AppendTo(nil)):]
		}
		b = b[12+int(rb.Length):]
	}
	return out
}

// dataReady waits until every data group has a serving leader among the cluster's nodes and
// want voters, and returns the partition's current leader node.
func (tc *testCluster) partitionLeader(topic string, partition int32, timeout time.Duration) *clusterNode {
	tc.t.Helper()
	var l *clusterNode
	waitFor(tc.t, timeout, fmt.Sprintf("a leader for %s/%d", topic, partition), func() bool {
		l = nil
		for _, c := range tc.nodes {
			if _, err := c.node.KafkaCluster().Log(topic, partition); err == nil {
				l = c
				return true
			}
		}
		return false
	})
	return l
}

// groupVoters waits until data group id has want voters on its leader.
func (tc *testCluster) groupVoters(id, want int) {
	tc.t.Helper()
	waitFor(tc.t, 30*time.Second, fmt.Sprintf("%s to have %d voters", DataGroupName(id), want), func() bool {
		for _, c := range tc.nodes {
			g := c.node.data.raftGroup(DataGroupName(id))
			if g == nil || !g.isLeader() {
				continue
			}
			conf, err := g.configuration()
			if err != nil {
				return false
			}
			v := 0
			for _, s := range conf.Servers {
				if s.Suffrage == 0 {
					v++
				}
			}
			return v == want
		}
		return false
	})
}

// produce appends batches of one value each to the partition through its current leader,
// retrying NOT_LEADER_OR_FOLLOWER, and returns the acknowledged values with their offsets.
func (tc *testCluster) produce(topic string, partition int32, prefix string, n int) map[int64]string {
	tc.t.Helper()
	acked := map[int64]string{}
	for i := 0; i < n; i++ {
		v := fmt.Sprintf("%s-%04d", prefix, i)
		deadline := time.Now().Add(30 * time.Second)
		for {
			l := tc.partitionLeader(topic, partition, 30*time.Second)
			pl, err := l.node.KafkaCluster().Log(topic, partition)
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				var res storage.AppendResult
				res, err = pl.Append(ctx, testBatch(v), storage.AppendOptions{})
				cancel()
				if err == nil {
					acked[res.BaseOffset] = v
					break
				}
			}
			if !errors.Is(err, kerr.NotLeaderForPartition) && !errors.Is(err, kerr.RequestTimedOut) || time.Now().After(deadline) {
				tc.t.Fatalf("produce %s to %s/%d: %v", v, topic, partition, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return acked
}

// replicaContents reads a node's local replica of a partition: values by offset.
func replicaContents(t *testing.T, c *clusterNode, topic string, partition int32) (map[int64]string, int64) {
	t.Helper()
	l, ok := c.logs.Get(topic, partition)
	if !ok {
		return nil, 0
	}
	out := map[int64]string{}
	hwm := l.HighWatermark()
	for off := l.LogStartOffset(); off < hwm; {
		res, err := l.Read(off, 1<<20)
		if err != nil {
			t.Fatalf("node %d reading %s/%d at %d: %v", c.id, topic, partition, off, err)
		}
		for len(res.Records) > 0 {
			base := int64(binary.BigEndian.Uint64(res.Records))
			length := int(binary.BigEndian.Uint32(res.Records[8:]))
			vals := batchValues(t, res.Records[:12+length])
			for i, v := range vals {
				out[base+int64(i)] = v
			}
			off = base + int64(len(vals))
			res.Records = res.Records[12+length:]
		}
	}
	return out, hwm
}

// converged waits until every node holding a replica of the partition has hwm records and all
// replicas hold the same values at the same offsets; it returns them.
func (tc *testCluster) converged(topic string, partition int32, hwm int64, replicas int) map[int64]string {
	tc.t.Helper()
	var ref map[int64]string
	waitFor(tc.t, 30*time.Second, fmt.Sprintf("%d replicas of %s/%d to reach offset %d", replicas, topic, partition, hwm), func() bool {
		n := 0
		for _, c := range tc.nodes {
			if l, ok := c.logs.Get(topic, partition); ok && l.HighWatermark() >= hwm {
				n++
			}
		}
		return n >= replicas
	})
	for _, c := range tc.nodes {
		got, h := replicaContents(tc.t, c, topic, partition)
		if got == nil {
			continue
		}
		if h != hwm {
			tc.t.Fatalf("node %d: %s/%d high watermark %d, want %d", c.id, topic, partition, h, hwm)
		}
		if ref == nil {
			ref = got
			continue
		}
		for off, v := range ref {
			if got[off] != v {
				tc.t.Fatalf("node %d: %s/%d offset %d holds %q, another replica %q", c.id, topic, partition, off, got[off], v)
			}
		}
	}
	return ref
}

func dataConfig(nc *NodeConfig) { nc.DataGroups = 2 }

func TestDataProduceReplicated(t *testing.T) {
	tc := newTestCluster(t, 3, dataConfig)
	ctx := context.Background()
	if _, err := tc.nodes[1].store.CreateTopic(ctx, "orders", 4, 3, nil); err != nil {
		t.Fatal(err)
	}
	tc.groupVoters(1, 3)
	tc.groupVoters(2, 3)
	for p := int32(0); p < 4; p++ {
		acked := tc.produce("orders", p, fmt.Sprintf("p%d", p), 20)
		for off := int64(0); off < 20; off++ {
			if _, ok := acked[off]; !ok {
				t.Fatalf("partition %d: offsets %v are not 0..19", p, acked)
			}
		}
		got := tc.converged("orders", p, 20, 3)
		for off, v := range acked {
			if got[off] != v {
				t.Fatalf("partition %d offset %d: %q, acknowledged %q", p, off, got[off], v)
			}
		}
	}
	// Metadata names each group's leader and its three replicas.
	kc := tc.nodes[2].node.KafkaCluster()
	waitFor(t, 10*time.Second, "metadata to name the partition leaders", func() bool {
		for p := int32(0); p < 4; p++ {
			leader, replicas := kc.Partition("orders", p)
			if leader < 1 || len(replicas) != 3 {
				return false
			}
			if l := tc.partitionLeader("orders", p, time.Second); int32(l.id) != leader {
				return false
			}
		}
		return true
	})
}

// TestDataLeaderIsolation: the isolated leader of a data group loses it; produce resumes on
// the new leader; after healing every replica holds every acknowledged record exactly once.
func TestDataLeaderIsolation(t *testing.T) {
	tc := newTestCluster(t, 3, dataConfig)
	if _, err := tc.nodes[0].store.CreateTopic(context.Background(), "t", 1, 3, nil); err != nil {
		t.Fatal(err)
	}
	gid := GroupOf(2, "t", 0)
	tc.groupVoters(gid, 3)
	acked := tc.produce("t", 0, "before", 10)
	old := tc.partitionLeader("t", 0, 10*time.Second)
	tc.faults.Isolate(raftAddr(old))
	waitFor(t, 20*time.Second, "a new leader among the others", func() bool {
		for _, c := range tc.others(old) {
			if _, err := c.node.KafkaCluster().Log("t", 0); err == nil {
				return true
			}
		}
		return false
	})
	if _, err := old.node.KafkaCluster().Log("t", 0); err == nil {
		// It may still believe it leads for a moment: its appends cannot commit.
		pl, _ := old.node.KafkaCluster().Log("t", 0)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if _, err := pl.Append(ctx, testBatch("lost"), storage.AppendOptions{}); err == nil {
			t.Fatal("the isolated leader acknowledged an append")
		}
		cancel()
	}
	nodes := tc.nodes
	tc.nodes = tc.others(old)
	for off, v := range tc.produce("t", 0, "after", 10) {
		acked[off] = v
	}
	tc.nodes = nodes
	tc.faults.Heal()
	got := tc.converged("t", 0, int64(len(acked)), 3)
	for off, v := range acked {
		if got[off] != v {
			t.Fatalf("offset %d: %q, acknowledged %q", off, got[off], v)
		}
	}
	for off, v := range got {
		if v == "lost" {
			t.Fatalf("the append to the isolated leader is at offset %d", off)
		}
	}
}

// TestDataSnapshotCatchUp: a node added after the leader compacted its Raft log receives the
// data group's snapshot (the partition segments) and holds the same records.
func TestDataSnapshotCatchUp(t *testing.T) {
	small := func(nc *NodeConfig) {
		nc.DataGroups = 1
		nc.Raft.TrailingLogs = 4
	}
	tc := newTestCluster(t, 1, small)
	if _, err := tc.nodes[0].store.CreateTopic(context.Background(), "snap", 2, 1, nil); err != nil {
		t.Fatal(err)
	}
	acked0 := tc.produce("snap", 0, "a", 30)
	tc.produce("snap", 1, "b", 30)
	g := tc.nodes[0].node.data.raftGroup(DataGroupName(1))
	if err := g.r.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	first, err := g.wal.FirstIndex()
	if err != nil {
		t.Fatal(err)
	}
	if first <= 2 {
		t.Fatalf("the leader's raft log still starts at %d: a new replica would not need the snapshot", first)
	}
	n2 := tc.add(small)
	tc.groupVoters(1, 2)
	got := tc.converged("snap", 0, 30, 2)
	for off, v := range acked0 {
		if got[off] != v {
			t.Fatalf("offset %d: %q, acknowledged %q", off, got[off], v)
		}
	}
	tc.converged("snap", 1, 30, 2)
	if l, ok := n2.logs.Get("snap", 0); !ok || l.LastRaftIndex() == 0 {
		t.Fatal("the new replica's log has no raft_meta")
	}
	// It keeps replicating after the snapshot.
	tc.produce("snap", 0, "c", 5)
	tc.converged("snap", 0, 35, 2)
	// And survives a restart: no double apply.
	n2.restart()
	tc.produce("snap", 0, "d", 5)
	tc.converged("snap", 0, 40, 2)
}

var _ kafka.PartitionLog = (*replicatedLog)(nil)
