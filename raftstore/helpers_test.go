package raftstore

import (
	"context"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
)

// testLogger discards logs unless RAFTSTORE_TEST_LOG is set (then: debug to stderr).
func testLogger() *slog.Logger {
	if os.Getenv("RAFTSTORE_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// waitFor polls cond every 5ms until it holds, failing the test after timeout. Call it from the
// test goroutine only; other goroutines use poll.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// poll reports whether cond held within timeout, checking every 5ms.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// testNode is one node's gRPC listener on 127.0.0.1:0 with a Network registered on it.
type testNode struct {
	addr raft.ServerAddress
	net  *Network
	srv  *grpc.Server
	done chan struct{}

	stopOnce sync.Once
}

func startTestNode(t testing.TB, mod func(*NetworkConfig)) *testNode {
	t.Helper()
	return startTestNodeAt(t, "127.0.0.1:0", mod)
}

func startTestNodeAt(t testing.TB, listen string, mod func(*NetworkConfig)) *testNode {
	t.Helper()
	lis, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	addr := raft.ServerAddress(lis.Addr().String())
	cfg := NetworkConfig{
		LocalAddr:      addr,
		Deadlines:      DefaultConfig().Deadlines(),
		EnablePipeline: true,
		MaxInFlight:    4,
		Logger:         testLogger(),
	}
	if mod != nil {
		mod(&cfg)
	}
	n, err := NewNetwork(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(ServerOptions()...)
	n.Register(srv)
	node := &testNode{addr: addr, net: n, srv: srv, done: make(chan struct{})}
	go func() {
		defer close(node.done)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(node.stop)
	return node
}

// stop closes the node's Network and gRPC server; it may be called more than once.
func (n *testNode) stop() {
	n.stopOnce.Do(func() {
		_ = n.net.Close()
		n.srv.Stop()
		<-n.done
	})
}

// serveRPCs plays raft on the receiving side: handle answers every RPC from gt's Consumer until
// the test ends.
func serveRPCs(t *testing.T, gt *GroupTransport, handle func(raft.RPC)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case rpc := <-gt.Consumer():
				handle(rpc)
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}
