package raftstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/chronik-stream/chronik/raftstore/raftpb"
)

func randomFilled[T any](t *testing.T, rng *rand.Rand) *T {
	t.Helper()
	v := new(T)
	fillRandom(t, rng, reflect.ValueOf(v).Elem(), reflect.TypeFor[T]().Name())
	return v
}

// TestTransportCarriesEveryRPC sends each RPC with every field random through the real gRPC
// transport and checks that the receiver's raft sees the identical request and the sender gets
// the identical response, and that two groups on one listener stay apart.
func TestTransportCarriesEveryRPC(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a := startTestNode(t, nil)
	b := startTestNode(t, nil)
	client := a.net.Transport("g1")
	var mu sync.Mutex
	var got []any
	var reply any
	var snapshotData []byte
	for _, g := range []string{"g1", "g2"} {
		gt := b.net.Transport(g)
		serveRPCs(t, gt, func(rpc raft.RPC) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, rpc.Command)
			if g != "g1" {
				rpc.Respond(nil, fmt.Errorf("request reached group %s", g))
				return
			}
			if rpc.Reader != nil {
				var err error
				snapshotData, err = io.ReadAll(rpc.Reader)
				if err != nil {
					rpc.Respond(nil, err)
					return
				}
			}
			rpc.Respond(reply, nil)
		})
	}
	check := func(name string, req, wantResp, gotResp any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 1 || !reflect.DeepEqual(got[0], req) {
			t.Fatalf("%s: receiver saw %+v, want %+v", name, got, req)
		}
		if !reflect.DeepEqual(gotResp, wantResp) {
			t.Fatalf("%s: sender got %+v, want %+v", name, gotResp, wantResp)
		}
		got = nil
	}
	setReply := func(v any) {
		mu.Lock()
		defer mu.Unlock()
		reply = v
	}

	for range 5 {
		{
			req := randomFilled[raft.AppendEntriesRequest](t, rng)
			want := randomFilled[raft.AppendEntriesResponse](t, rng)
			setReply(want)
			var resp raft.AppendEntriesResponse
			err := client.AppendEntries("b", b.addr, req, &resp)
			check("AppendEntries", req, want, &resp, err)
		}
		{
			req := randomFilled[raft.RequestVoteRequest](t, rng)
			want := randomFilled[raft.RequestVoteResponse](t, rng)
			setReply(want)
			var resp raft.RequestVoteResponse
			err := client.RequestVote("b", b.addr, req, &resp)
			check("RequestVote", req, want, &resp, err)
		}
		{
			req := randomFilled[raft.RequestPreVoteRequest](t, rng)
			want := randomFilled[raft.RequestPreVoteResponse](t, rng)
			setReply(want)
			var resp raft.RequestPreVoteResponse
			err := client.RequestPreVote("b", b.addr, req, &resp)
			check("RequestPreVote", req, want, &resp, err)
		}
		{
			req := randomFilled[raft.TimeoutNowRequest](t, rng)
			want := randomFilled[raft.TimeoutNowResponse](t, rng)
			setReply(want)
			var resp raft.TimeoutNowResponse
			err := client.TimeoutNow("b", b.addr, req, &resp)
			check("TimeoutNow", req, want, &resp, err)
		}
		{
			req := randomFilled[raft.InstallSnapshotRequest](t, rng)
			data := make([]byte, 2*snapshotChunkSize+rng.IntN(snapshotChunkSize))
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			req.Size = int64(len(data))
			want := randomFilled[raft.InstallSnapshotResponse](t, rng)
			setReply(want)
			var resp raft.InstallSnapshotResponse
			err := client.InstallSnapshot("b", b.addr, req, &resp, bytes.NewReader(data))
			check("InstallSnapshot", req, want, &resp, err)
			mu.Lock()
			if !bytes.Equal(snapshotData, data) {
				t.Fatalf("InstallSnapshot: receiver read %d bytes, not the %d sent", len(snapshotData), len(data))
			}
			mu.Unlock()
		}
	}

	// The group id routes: g2's raft answers with an error naming itself.
	g2 := a.net.Transport("g2")
	var resp raft.RequestVoteResponse
	err := g2.RequestVote("b", b.addr, &raft.RequestVoteRequest{Term: 1}, &resp)
	if err == nil || !strings.Contains(err.Error(), "request reached group g2") {
		t.Fatalf("vote on g2: err = %v, want the answer of group g2", err)
	}
}

func TestUnknownGroupIsNotFound(t *testing.T) {
	a := startTestNode(t, nil)
	b := startTestNode(t, nil)
	var resp raft.RequestVoteResponse
	err := a.net.Transport("nope").RequestVote("b", b.addr, &raft.RequestVoteRequest{Term: 1}, &resp)
	if status.Code(err) != codes.NotFound {
		t.Fatalf("err = %v, want NotFound", err)
	}
}

// TestHeartbeatFastPath: with raft's main loop stuck (nobody reads Consumer), heartbeats still go
// to the heartbeat handler and succeed, while a real append times out.
func TestHeartbeatFastPath(t *testing.T) {
	a := startTestNode(t, nil)
	b := startTestNode(t, nil)
	server := b.net.Transport("g")
	var beats atomic.Int64
	server.SetHeartbeatHandler(func(rpc raft.RPC) {
		beats.Add(1)
		rpc.Respond(&raft.AppendEntriesResponse{Term: 7, Success: true}, nil)
	})
	client := a.net.Transport("g")
	hb := &raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{Addr: []byte(a.addr)}, Term: 7}
	for i := range 20 {
		var resp raft.AppendEntriesResponse
		if err := client.AppendEntries("b", b.addr, hb, &resp); err != nil {
			t.Fatalf("heartbeat %d: %v", i, err)
		}
		if !resp.Success || resp.Term != 7 {
			t.Fatalf("heartbeat %d: resp %+v", i, resp)
		}
	}
	if beats.Load() != 20 {
		t.Fatalf("heartbeat handler saw %d heartbeats, want 20", beats.Load())
	}
	var resp raft.AppendEntriesResponse
	err := client.AppendEntries("b", b.addr, &raft.AppendEntriesRequest{Term: 7, PrevLogEntry: 3, Entries: []*raft.Log{{Index: 4}}}, &resp)
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("append with a stuck raft: err = %v, want DeadlineExceeded", err)
	}
	// Heartbeats and votes use their own connection, apart from appends and snapshots.
	p, err := a.net.conns(b.addr)
	if err != nil {
		t.Fatal(err)
	}
	if p.control == p.bulk {
		t.Fatal("control and bulk traffic share one connection")
	}
}

// appendEcho answers every AppendEntries with Success and LastLog = the last index it carried.
func appendEcho(seen *[]uint64, mu *sync.Mutex) func(raft.RPC) {
	return func(rpc raft.RPC) {
		req := rpc.Command.(*raft.AppendEntriesRequest)
		last := req.PrevLogEntry
		mu.Lock()
		for _, e := range req.Entries {
			*seen = append(*seen, e.Index)
			last = e.Index
		}
		mu.Unlock()
		rpc.Respond(&raft.AppendEntriesResponse{Term: req.Term, LastLog: last, Success: true}, nil)
	}
}

func appendReq(first, n int, size int) *raft.AppendEntriesRequest {
	req := &raft.AppendEntriesRequest{Term: 2, PrevLogEntry: uint64(first - 1), PrevLogTerm: 2, LeaderCommitIndex: uint64(first - 1)}
	for i := range n {
		req.Entries = append(req.Entries, &raft.Log{Index: uint64(first + i), Term: 2, Data: make([]byte, size)})
	}
	return req
}

// TestPipelineOrderAndBound: futures come back in order with their own responses, and no more
// than MaxInFlight requests are ever unanswered.
func TestPipelineOrderAndBound(t *testing.T) {
	const maxInFlight, total = 4, 40
	a := startTestNode(t, func(c *NetworkConfig) { c.MaxInFlight = maxInFlight })
	b := startTestNode(t, nil)
	var sent atomic.Int64
	var handled int64
	server := b.net.Transport("g")
	serveRPCs(t, server, func(rpc raft.RPC) {
		i := handled
		handled++
		// Request i arrives with i answered: the sender may have sent exactly i+maxInFlight.
		want := min(i+maxInFlight, total)
		filled := poll(10*time.Second, func() bool { return sent.Load() >= want })
		if s := sent.Load(); !filled || s != want {
			t.Errorf("request %d: %d sent, want %d (window %d)", i, s, want, maxInFlight)
		}
		req := rpc.Command.(*raft.AppendEntriesRequest)
		rpc.Respond(&raft.AppendEntriesResponse{Term: req.Term, LastLog: req.Entries[0].Index, Success: true}, nil)
	})
	p, err := a.net.Transport("g").AppendEntriesPipeline("b", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	errs := make(chan error, 1)
	go func() {
		defer wg.Done()
		for i := range total {
			if _, err := p.AppendEntries(appendReq(i+1, 1, 10), new(raft.AppendEntriesResponse)); err != nil {
				errs <- err
				return
			}
			sent.Add(1)
		}
	}()
	for i := range total {
		select {
		case f := <-p.Consumer():
			if err := f.Error(); err != nil {
				t.Fatalf("future %d: %v", i, err)
			}
			if got := f.Response().LastLog; got != uint64(i+1) || f.Request().Entries[0].Index != uint64(i+1) {
				t.Fatalf("future %d: response for %d, request %d", i, got, f.Request().Entries[0].Index)
			}
		case err := <-errs:
			t.Fatal(err)
		case <-time.After(20 * time.Second):
			t.Fatalf("future %d never arrived", i)
		}
	}
	wg.Wait()
}

func TestPipelineDisabled(t *testing.T) {
	a := startTestNode(t, func(c *NetworkConfig) { c.EnablePipeline = false })
	_, err := a.net.Transport("g").AppendEntriesPipeline("b", "127.0.0.1:1")
	if !errors.Is(err, raft.ErrPipelineReplicationNotSupported) {
		t.Fatalf("err = %v, want ErrPipelineReplicationNotSupported", err)
	}
}

// TestLargeAppendIsSplit: an append over the message limit arrives as several consecutive
// requests, through plain calls and the pipeline alike.
func TestLargeAppendIsSplit(t *testing.T) {
	a := startTestNode(t, nil)
	a.net.splitBytes = 10_000
	b := startTestNode(t, nil)
	var mu sync.Mutex
	var seen []uint64
	var calls atomic.Int64
	echo := appendEcho(&seen, &mu)
	serveRPCs(t, b.net.Transport("g"), func(rpc raft.RPC) { calls.Add(1); echo(rpc) })
	client := a.net.Transport("g")

	var resp raft.AppendEntriesResponse
	if err := client.AppendEntries("b", b.addr, appendReq(1, 30, 1000), &resp); err != nil {
		t.Fatal(err)
	}
	if !resp.Success || resp.LastLog != 30 {
		t.Fatalf("resp = %+v, want success up to 30", resp)
	}
	p, err := client.AppendEntriesPipeline("b", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.AppendEntries(appendReq(31, 30, 1000), new(raft.AppendEntriesResponse)); err != nil {
		t.Fatal(err)
	}
	f := <-p.Consumer()
	if err := f.Error(); err != nil || !f.Response().Success || f.Response().LastLog != 60 {
		t.Fatalf("pipelined split append: err %v resp %+v", err, f.Response())
	}
	if c := calls.Load(); c < 6 {
		t.Fatalf("%d requests reached the receiver, want the two appends split into ≥ 6", c)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, idx := range seen {
		if idx != uint64(i+1) {
			t.Fatalf("receiver saw index %d at position %d", idx, i)
		}
	}
}

// TestInstallSnapshotAnsweredEarly: raft rejecting a snapshot without reading it still yields its
// answer at the sender (the receiver drains the stream).
func TestInstallSnapshotAnsweredEarly(t *testing.T) {
	a := startTestNode(t, nil)
	b := startTestNode(t, nil)
	serveRPCs(t, b.net.Transport("g"), func(rpc raft.RPC) {
		rpc.Respond(&raft.InstallSnapshotResponse{Term: 9, Success: false}, nil)
	})
	data := make([]byte, 3*snapshotChunkSize+5)
	var resp raft.InstallSnapshotResponse
	err := a.net.Transport("g").InstallSnapshot("b", b.addr, &raft.InstallSnapshotRequest{Term: 3, Size: int64(len(data))}, &resp, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Term != 9 || resp.Success {
		t.Fatalf("resp = %+v", resp)
	}
}

// TestInstallSnapshotShortData: a sender whose snapshot data ends before Size fails; a stream
// that ends before Size bytes gives the receiving raft a read error, never a short snapshot.
func TestInstallSnapshotShortData(t *testing.T) {
	a := startTestNode(t, nil)
	b := startTestNode(t, nil)
	readErr := make(chan error, 2) // one per stream reaching raft
	serveRPCs(t, b.net.Transport("g"), func(rpc raft.RPC) {
		n, err := io.Copy(io.Discard, rpc.Reader)
		if err == nil {
			err = fmt.Errorf("read %d bytes without error", n)
			readErr <- nil
		} else {
			readErr <- err
		}
		rpc.Respond(nil, err)
	})
	var resp raft.InstallSnapshotResponse
	err := a.net.Transport("g").InstallSnapshot("b", b.addr, &raft.InstallSnapshotRequest{Term: 3, Size: 1 << 20}, &resp, bytes.NewReader(make([]byte, 1000)))
	if err == nil {
		t.Fatal("InstallSnapshot with short data succeeded")
	}

	// A raw stream announcing 1 MiB, carrying 1000 bytes and closing.
	conns, err := a.net.conns(b.addr)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := conns.bulkClient.InstallSnapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	meta := &pb.InstallSnapshotChunk{Group: "g", Payload: &pb.InstallSnapshotChunk_Metadata{Metadata: &pb.InstallSnapshotRequest{Group: "g", Term: 3, Size: 1 << 20}}}
	data := &pb.InstallSnapshotChunk{Group: "g", Payload: &pb.InstallSnapshotChunk_Data{Data: make([]byte, 1000)}}
	for _, m := range []*pb.InstallSnapshotChunk{meta, data} {
		if err := stream.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stream.CloseAndRecv(); err == nil {
		t.Fatal("a short snapshot stream was answered without error")
	}
	for {
		select {
		case err := <-readErr:
			if err == nil {
				t.Fatal("receiver read a short snapshot without error")
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return // the raw stream's read; the first call may or may not have reached raft
			}
		case <-time.After(10 * time.Second):
			t.Fatal("receiver never read the short stream")
		}
	}
}

// TestFaultsOnTheWire: a blocked link drops the request; a blocked reverse link delivers the
// request and loses the response; Heal restores both.
func TestFaultsOnTheWire(t *testing.T) {
	faults := NewFaults(1)
	a := startTestNode(t, func(c *NetworkConfig) { c.Faults = faults })
	b := startTestNode(t, func(c *NetworkConfig) { c.Faults = faults })
	var delivered atomic.Int64
	serveRPCs(t, b.net.Transport("g"), func(rpc raft.RPC) {
		delivered.Add(1)
		rpc.Respond(&raft.RequestVoteResponse{Term: 1}, nil)
	})
	client := a.net.Transport("g")
	vote := func() error {
		var resp raft.RequestVoteResponse
		return client.RequestVote("b", b.addr, &raft.RequestVoteRequest{Term: 1}, &resp)
	}
	tests := []struct {
		name          string
		setup         func()
		wantErr       bool
		wantDelivered int64
	}{
		{"healthy", func() {}, false, 1},
		{"a to b blocked", func() { faults.Block(a.addr, b.addr) }, true, 0},
		{"b to a blocked", func() { faults.Block(b.addr, a.addr) }, true, 1},
		{"b isolated", func() { faults.Isolate(b.addr) }, true, 0},
		{"all dropped", func() { faults.SetDropRate(1) }, true, 0},
		{"delayed past the deadline", func() { faults.SetDelay(time.Minute, time.Minute) }, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			faults.Reset()
			tt.setup()
			before := delivered.Load()
			err := vote()
			injected := errors.Is(err, ErrInjectedFault) || errors.Is(err, context.DeadlineExceeded)
			if (err != nil) != tt.wantErr || (err != nil && !injected) {
				t.Fatalf("err = %v, want error %v (ErrInjectedFault)", err, tt.wantErr)
			}
			if got := delivered.Load() - before; got != tt.wantDelivered {
				t.Fatalf("%d requests delivered, want %d", got, tt.wantDelivered)
			}
		})
	}
	if faults.Dropped(a.addr, "RequestVote") != 4 {
		t.Fatalf("Dropped = %d, want 4", faults.Dropped(a.addr, "RequestVote"))
	}
}

// TestReconnectAfterPeerRestart: the connection to a peer that restarts on the same address is
// re-established by gRPC's backoff, without a new Network or new connections objects.
func TestReconnectAfterPeerRestart(t *testing.T) {
	a := startTestNode(t, nil)
	b := startTestNode(t, nil)
	answer := func(rpc raft.RPC) { rpc.Respond(&raft.RequestVoteResponse{Term: 5, Granted: true}, nil) }
	serveRPCs(t, b.net.Transport("g"), answer)
	client := a.net.Transport("g")
	vote := func() error {
		var resp raft.RequestVoteResponse
		return client.RequestVote("b", b.addr, &raft.RequestVoteRequest{Term: 5}, &resp)
	}
	if err := vote(); err != nil {
		t.Fatal(err)
	}
	before, err := a.net.conns(b.addr)
	if err != nil {
		t.Fatal(err)
	}
	b.stop()
	if err := vote(); err == nil {
		t.Fatal("vote to a stopped peer succeeded")
	}
	b2 := startTestNodeAt(t, string(b.addr), nil)
	serveRPCs(t, b2.net.Transport("g"), answer)
	waitFor(t, 10*time.Second, "a vote through the re-established connection", func() bool { return vote() == nil })
	after, err := a.net.conns(b.addr)
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatal("the peer's connections were replaced instead of reconnected")
	}
}

// TestClosedTransport: calls on a closed view, or on a view of a closed Network, fail with
// raft.ErrTransportShutdown; the group id can be reused after Close.
func TestClosedTransport(t *testing.T) {
	a := startTestNode(t, nil)
	g := a.net.Transport("g")
	if a.net.Transport("g") != g {
		t.Fatal("a second Transport call for an open group returned a new view")
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	var resp raft.RequestVoteResponse
	if err := g.RequestVote("b", "127.0.0.1:1", &raft.RequestVoteRequest{}, &resp); !errors.Is(err, raft.ErrTransportShutdown) {
		t.Fatalf("vote on closed view: %v", err)
	}
	if a.net.Transport("g") == g {
		t.Fatal("Transport returned the closed view")
	}
	if err := a.net.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.net.Transport("h").RequestVote("b", "127.0.0.1:1", &raft.RequestVoteRequest{}, &resp); !errors.Is(err, raft.ErrTransportShutdown) {
		t.Fatalf("vote on a closed network: %v", err)
	}
}
