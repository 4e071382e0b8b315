package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const blueGreenRecords = 100_000

// produceBlue writes n records over two topics (keys, headers, explicit timestamps).
func produceBlue(t *testing.T, ctx context.Context, addr string, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("orders"), kgo.MaxBufferedRecords(20000))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// Topics with several partitions first (auto-creation would give the default count).
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 10000
	for _, tc := range []struct {
		name  string
		parts int32
	}{{"orders", 3}, {"events", 2}} {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = tc.name, tc.parts, 1
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("creating blue's topics: %v", err)
	}
	for _, rt := range resp.Topics {
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			t.Fatalf("creating %s: %v", rt.Topic, err)
		}
	}
	errs := make(chan error, 1)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		r := &kgo.Record{Topic: "orders", Partition: int32(i % 3), Key: []byte("k" + strconv.Itoa(i%97)),
			Value: []byte(fmt.Sprintf("record %d %s", i, strings.Repeat("x", i%50))), Timestamp: base.Add(time.Duration(i) * time.Millisecond),
			Headers: []kgo.RecordHeader{{Key: "i", Value: []byte(strconv.Itoa(i))}}}
		if i%4 == 0 {
			r.Topic, r.Partition, r.Key = "events", int32(i%2), nil
		}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		t.Fatalf("producing to blue: %v", err)
	default:
	}
}

// readAll reads every record of the partitions from offset 0 up to the high watermarks.
func readAll(t *testing.T, ctx context.Context, addr string, parts map[string]int32) map[string][]string {
	t.Helper()
	offsets := map[string]map[int32]kgo.Offset{}
	for topic, n := range parts {
		offsets[topic] = map[int32]kgo.Offset{}
		for p := range n {
			offsets[topic][p] = kgo.NewOffset().AtStart()
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumePartitions(offsets), kgo.FetchMaxBytes(16<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	out := map[string][]string{}
	total := 0
	for total < blueGreenRecords {
		fs := cl.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatalf("reading %s: %v (after %d records)", addr, err, total)
		}
		fs.EachRecord(func(r *kgo.Record) {
			key := fmt.Sprintf("%s/%d", r.Topic, r.Partition)
			var hs []string
			for _, h := range r.Headers {
				hs = append(hs, h.Key+"="+string(h.Value))
			}
			out[key] = append(out[key], fmt.Sprintf("%d|%q|%q|%d|%s", r.Offset, r.Key, r.Value, r.Timestamp.UnixMilli(), strings.Join(hs, ",")))
			total++
		})
	}
	return out
}

// TestTUIBlueGreenEndToEnd: blue is a standalone node on wal_format 2 (what v1.x left) holding
// 100,000 records; green is three cluster nodes. chronik-tui, connected to green-1, walks the
// blue-green workflow: the built-in mirror copies blue, the parity step shows equal high
// watermarks, validation passes against blue's baseline, the mirror is stopped. Then every
// record is read from both clusters and compared: offsets, keys, values, timestamps, headers.
func TestTUIBlueGreenEndToEnd(t *testing.T) {
	dir, serverBin, tuiBin := e2eSetup(t, "builds both binaries, starts four nodes and needs tmux")
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	blue := &server{bin: serverBin, dataDir: filepath.Join(dir, "blue"), logPath: filepath.Join(dir, "blue.log"),
		kafka: freePort(t), http: freePort(t), node: freePort(t)}
	blue.start(t)
	t.Cleanup(blue.stop)
	blueAddr := fmt.Sprintf("127.0.0.1:%d", blue.kafka)
	produceBlue(t, ctx, blueAddr, blueGreenRecords)
	t.Logf("blue holds %d records (%s)", blueGreenRecords, time.Since(start).Round(time.Millisecond))

	green := []*clusterNode{newClusterNode(t, serverBin, dir, 1), newClusterNode(t, serverBin, dir, 2), newClusterNode(t, serverBin, dir, 3)}
	green[1].seeds = "1@" + green[0].nodeAddr()
	green[2].seeds = green[1].seeds + ",2@" + green[1].nodeAddr()
	for _, n := range green {
		t.Cleanup(n.kill)
		n.launch(t)
		n.waitHealthy(t)
	}
	logsOnFailure(t, dir, "blue.log", "node1.log", "node2.log", "node3.log")

	addr := green[0].nodeAddr()
	x := runConsole(t, "bluegreen", dir, tuiBin, addr, 140, 45)
	x.waitFor("green-1", "● live "+addr, "(cluster)")

	for _, st := range []struct{ key, want string }{
		{"4", "Workflow:"},
		{"l", "[Blue-green]"},
		{"x", "Confirm that you ran:"}, // 1: bootstrap green (the test started it)
		{"y", "Step 2: Verify the green cluster is up"},
	} {
		x.key(st.key)
		x.waitFor(fmt.Sprintf("%q after key %q", st.want, st.key), st.want)
	}
	x.key("x") // 2: waits for three voters
	x.waitStepDone(2, 3*time.Minute)
	x.key("x") // 3: preflight
	x.waitStepDone(3, 3*time.Minute)
	x.key("x") // 4: the mirror, from blue's Kafka address
	x.waitFor("the blue address prompt", "Bootstrap servers of the blue cluster")
	x.run("send-keys", "-t", "S", "-l", blueAddr)
	x.key("Enter")
	x.waitFor("the y/n prompt", "Proceed? [y/n]")
	x.key("y")
	x.waitStepDone(4, 3*time.Minute)
	// 5: blue's throughput would be compared with a 3-node acks=all cluster sharing two cores
	// with blue and this test: skipped here (the measurement itself is tested in broker/node).
	x.key("s")
	x.waitFor("the skip prompt", "Skip step 5")
	x.key("y")
	x.key("j")
	x.waitFor("the parity step selected", "Step 6: High-watermark parity")
	mirrorStart := time.Now()
	x.key("x") // 6: waits for lag 0 and equal high watermarks
	x.waitStepDone(6, 3*time.Minute)
	t.Logf("mirror reached parity %s after the parity step started", time.Since(mirrorStart).Round(time.Millisecond))
	x.key("k")
	pane := x.waitFor("the parity result", "Step 6: High-watermark parity", "parity: 5 partitions, high watermarks equal on blue and green")
	if !strings.Contains(pane, fmt.Sprintf("(%d records mirrored)", blueGreenRecords)) {
		t.Fatalf("parity without %d records mirrored:\n%s", blueGreenRecords, pane)
	}
	x.key("j")
	x.key("x") // 7: validation against blue's baseline
	x.waitStepDone(7, 3*time.Minute)
	x.key("k")
	pane = x.waitFor("the validation result", "Step 7: Validate", " 0 fail,")
	requireChecks(t, pane, "PASS All nodes joined cluster — 3 of 3 nodes", "PASS All topics present — all 2 expected topics exist",
		"PASS High watermarks match v1.x — all 5 partitions match the baseline", "PASS Produce/consume works on all nodes")
	x.key("3")
	x.waitFor("the mirror in the Migration tab", "mirror-1", "lag 0 · running", fmt.Sprintf("%d records mirrored", blueGreenRecords))
	x.key("4")
	x.key("j")
	x.key("x") // 8: cut over (confirmed)
	x.waitFor("the cut-over confirmation", "Confirm that you ran:")
	x.key("y")
	x.waitFor("the stop step selected", "Step 9: Stop the mirror")
	x.key("x")
	x.waitFor("the y/n prompt", "Proceed? [y/n]")
	x.key("y")
	x.waitStepDone(9, 3*time.Minute)

	// Every record, compared through Kafka on both sides.
	parts := map[string]int32{"orders": 3, "events": 2}
	b, g := readAll(t, ctx, blueAddr, parts), readAll(t, ctx, fmt.Sprintf("127.0.0.1:%d", green[1].kafka), parts)
	for key, recs := range b {
		if len(g[key]) != len(recs) {
			t.Fatalf("%s: blue %d records, green %d", key, len(recs), len(g[key]))
		}
		for i := range recs {
			if recs[i] != g[key][i] {
				t.Fatalf("%s record %d differs:\nblue  %s\ngreen %s", key, i, recs[i], g[key][i])
			}
		}
	}
	x.key("q")
	x.waitFor("a clean exit", "EXITED:0")
	t.Logf("blue-green end-to-end test took %s", time.Since(start).Round(time.Millisecond))
}
