package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// clusterNode is one `chronik-server cluster` process of the end-to-end test.
type clusterNode struct {
	server
	id    uint64
	seeds string
}

func newClusterNode(t *testing.T, bin, dir string, id uint64) *clusterNode {
	return &clusterNode{id: id, server: server{bin: bin, dataDir: filepath.Join(dir, fmt.Sprintf("node%d", id)),
		logPath: filepath.Join(dir, fmt.Sprintf("node%d.log", id)), kafka: freePort(t), http: freePort(t), node: freePort(t)}}
}

func (c *clusterNode) nodeAddr() string { return "127.0.0.1:" + strconv.Itoa(c.node) }

// launch starts the process; joining nodes become healthy once they joined.
func (c *clusterNode) launch(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	c.cmd = exec.Command(c.bin, "cluster", "--node-id", strconv.FormatUint(c.id, 10), "--seed-nodes", c.seeds,
		"--data-dir", c.dataDir, "--bind-host", "127.0.0.1",
		"--kafka-port", strconv.Itoa(c.kafka), "--http-port", strconv.Itoa(c.http),
		"--node-addr", c.nodeAddr(), "--admin-token", "e2e-token")
	c.cmd.Env = childEnv()
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(c.cmd, c.exited)
}

func (c *clusterNode) waitHealthy(t *testing.T) {
	t.Helper()
	c.server.waitHealthy(t, fmt.Sprintf("node %d", c.id), 60*time.Second)
}

func (c *clusterNode) kill() {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		<-c.exited
	}
}

// childEnv is the environment without CHRONIK_* variables (the server rejects unknown ones).
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CHRONIK_") {
			env = append(env, kv)
		}
	}
	return env
}

// metaLeader asks a node's /admin/cluster/members for the leader.
func metaLeader(t *testing.T, n *clusterNode) uint64 {
	t.Helper()
	var leader uint64
	poll(t, 20*time.Second, "a leader in /admin/cluster/members", func() (bool, string) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/admin/cluster/members", n.http))
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		var ms []struct {
			NodeID uint64 `json:"node_id"`
			State  string `json:"state"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&ms); err != nil {
			return false, err.Error()
		}
		for _, m := range ms {
			if m.State == "leader" {
				leader = m.NodeID
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", ms)
	})
	return leader
}

// TestTUIClusterEndToEnd: three real cluster nodes and chronik-tui in tmux. The console walks
// the fresh-cluster workflow (bootstrap, preflight, cluster up, add node 2 and 3 as they join,
// validation with produce/consume on every node and a leadership failover) to all-green,
// shows three members and the leader, and shows the new leader after the leader is killed.
func TestTUIClusterEndToEnd(t *testing.T) {
	dir, serverBin, tuiBin := e2eSetup(t, "builds both binaries, starts three nodes and needs tmux")
	start := time.Now()
	nodes := []*clusterNode{newClusterNode(t, serverBin, dir, 1), newClusterNode(t, serverBin, dir, 2), newClusterNode(t, serverBin, dir, 3)}
	nodes[1].seeds = "1@" + nodes[0].nodeAddr()
	nodes[2].seeds = nodes[1].seeds + ",2@" + nodes[1].nodeAddr()
	for _, n := range nodes {
		t.Cleanup(n.kill)
	}
	logsOnFailure(t, dir, "node1.log", "node2.log", "node3.log")
	nodes[0].launch(t)
	nodes[0].waitHealthy(t)

	addr := nodes[0].nodeAddr()
	x := runConsole(t, "fresh", dir, tuiBin, addr, 130, 40)
	x.waitFor("node 1 as a cluster of one", "● live "+addr, "leader node 1", "(cluster)")

	// The fresh-cluster workflow, one key at a time as an operator types.
	steps := []struct{ key, want string }{
		{"4", "Workflow:"},
		{"l", "[Blue-green]"},
		{"l", "[Fresh]"},
		{"x", "Confirm that you ran:"},      // 1: bootstrap node 1 (manual)
		{"y", "Step 2: Preflight checks"},   // confirmed; the cursor moves on
		{"x", "Step 3: Verify the cluster"}, // 2: preflight passes
		{"x", "Step 4: Add node 2"},         // 3: observed: leader elected
	}
	for _, st := range steps {
		x.key(st.key)
		x.waitFor(fmt.Sprintf("%q after key %q", st.want, st.key), st.want)
	}
	for i, n := range nodes[1:] {
		x.addNode(n, i+4) // the node joins through its seeds; the step waits for it
		n.waitHealthy(t)
	}
	x.waitFor("the validate step selected", "Step 6: Validate")
	x.key("x")
	x.waitStepDone(6, time.Minute)
	x.key("k") // back to its result
	pane := x.waitFor("the validation result", "Step 6: Validate", "Result: done in", " 0 fail,")
	requireChecks(t, pane, "PASS All nodes joined cluster — 3 of 3 nodes", "PASS Produce/consume works on all nodes",
		"PASS Failover works (leader election < 1s)")
	x.key("j")
	x.key("x") // 7: re-ingest (manual, safe)
	x.waitFor("the last confirmation", "Confirm that you ran:")
	x.key("y")
	pane = x.waitFor("every step done", "Step 7: Re-ingest data", "Result: done")
	for i := 1; i <= 7; i++ {
		if st := stepStatus(pane, i); st != "done" {
			t.Fatalf("step %d is %q, not done:\n%s", i, st, pane)
		}
	}

	// Overview: three members and the leader.
	x.key("1")
	leader := metaLeader(t, nodes[0])
	pane = x.waitFor("three members and the leader", "Members (3)", fmt.Sprintf("leader node %d", leader), "healthy: 3 members, leader elected")
	// Every member row shows a term; the node the console watches knows last contact and lag
	// of the others when it leads, of the leader when it follows.
	for _, n := range nodes {
		var row string
		for _, l := range strings.Split(pane, "\n") {
			if f := strings.Fields(l); len(f) > 3 && f[0] == strconv.FormatUint(n.id, 10) && f[1] == n.nodeAddr() {
				row = l
			}
		}
		if f := strings.Fields(row); len(f) < 6 || f[3] == "0" {
			t.Fatalf("member %d row %q: want role, a term > 0, last contact and lag:\n%s", n.id, row, pane)
		}
	}
	t.Logf("overview:\n%s", pane)
	// The Migration tab shows every member's WAL, asked from the node the console watches.
	x.key("3")
	pane = x.waitFor("every member's WAL format", "node 1", "node 2", "node 3")
	t.Logf("migration tab:\n%s", pane)
	x.key("1")

	// Kill the leader (never the node the console watches: move the leadership away first).
	if leader == 1 {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer e2e-token"), 30*time.Second)
		defer cancel()
		resp, err := consolepb.NewConsoleServiceClient(conn).TransferLeadership(ctx, &consolepb.TransferLeadershipRequest{})
		if err != nil {
			t.Fatalf("moving the leadership off node 1: %v", err)
		}
		leader = resp.GetNewLeaderId()
		x.waitFor("the moved leader", fmt.Sprintf("leader node %d", leader))
	}
	killed := time.Now()
	nodes[leader-1].kill()
	poll(t, 30*time.Second, "a new leader on the console", func() (bool, string) {
		pane := x.capture()
		for id := uint64(1); id <= 3; id++ {
			if id != leader && strings.Contains(pane, fmt.Sprintf("leader node %d", id)) {
				return true, ""
			}
		}
		return false, pane
	})
	t.Logf("killed leader node %d; the console showed the new leader %s later", leader, time.Since(killed).Round(time.Millisecond))
	x.key("1")
	pane = x.waitFor("the dead node unreachable", fmt.Sprintf("degraded: node %d is unreachable", leader))
	if !rowHas(pane, strconv.FormatUint(leader, 10), nodes[leader-1].nodeAddr(), "unreachable") {
		t.Fatalf("node %d not shown as unreachable:\n%s", leader, pane)
	}
	x.key("5")
	x.waitFor("the leader change in the events", "leader ")

	x.key("q")
	x.waitFor("a clean exit", "EXITED:0")
	t.Logf("cluster end-to-end test took %s", time.Since(start).Round(time.Millisecond))
}
