package raftstore

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	pb "github.com/chronik-stream/chronik/raftstore/raftpb"
)

var timeType = reflect.TypeFor[time.Time]()

// fillRandom sets every field reachable from v to a random non-zero value. It fails on a kind it
// does not know, so a raft upgrade that adds an unusual field type is noticed too.
func fillRandom(t *testing.T, rng *rand.Rand, v reflect.Value, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(time.Unix(rng.Int64N(1<<34), rng.Int64N(1e9)).UTC()))
			return
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				t.Fatalf("%s.%s is unexported: the transport cannot carry it", path, f.Name)
			}
			fillRandom(t, rng, v.Field(i), path+"."+f.Name)
		}
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := min(v.Type().Bits()-1, 62)
		v.SetInt(1 + rng.Int64N(1<<bits-1))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits := min(v.Type().Bits(), 63)
		v.SetUint(1 + rng.Uint64N(1<<bits-1))
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", rng.Uint64()))
	case reflect.Slice:
		n := 1 + rng.IntN(3)
		if v.Type().Elem().Kind() == reflect.Uint8 {
			n = 1 + rng.IntN(40)
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fillRandom(t, rng, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fillRandom(t, rng, p.Elem(), path)
		v.Set(p)
	default:
		t.Fatalf("%s has kind %s, which fillRandom cannot fill: extend it and the transport", path, v.Kind())
	}
}

// viaWire marshals m to bytes and back, as the transport does.
func viaWire[M proto.Message](t *testing.T, m M) M {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatalf("marshal %T: %v", m, err)
	}
	out := m.ProtoReflect().New().Interface().(M)
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatalf("unmarshal %T: %v", m, err)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// roundTrips covers every RPC struct of raft.Transport: each function sends its argument through
// the protobuf encoding and back and returns the group id seen on the wire.
func roundTrips(t *testing.T) map[string]struct {
	sample func() any
	trip   func(any) (any, string)
} {
	const g = "group-7"
	type entry = struct {
		sample func() any
		trip   func(any) (any, string)
	}
	return map[string]entry{
		"AppendEntriesRequest": {func() any { return &raft.AppendEntriesRequest{} }, func(v any) (any, string) {
			m := viaWire(t, appendReqToPB(g, v.(*raft.AppendEntriesRequest)))
			return appendReqFromPB(m), m.Group
		}},
		"AppendEntriesResponse": {func() any { return &raft.AppendEntriesResponse{} }, func(v any) (any, string) {
			m := viaWire(t, appendRespToPB(g, v.(*raft.AppendEntriesResponse)))
			return ptr(appendRespFromPB(m)), m.Group
		}},
		"RequestVoteRequest": {func() any { return &raft.RequestVoteRequest{} }, func(v any) (any, string) {
			m := viaWire(t, voteReqToPB(g, v.(*raft.RequestVoteRequest)))
			return voteReqFromPB(m), m.Group
		}},
		"RequestVoteResponse": {func() any { return &raft.RequestVoteResponse{} }, func(v any) (any, string) {
			m := viaWire(t, voteRespToPB(g, v.(*raft.RequestVoteResponse)))
			return ptr(voteRespFromPB(m)), m.Group
		}},
		"RequestPreVoteRequest": {func() any { return &raft.RequestPreVoteRequest{} }, func(v any) (any, string) {
			m := viaWire(t, preVoteReqToPB(g, v.(*raft.RequestPreVoteRequest)))
			return preVoteReqFromPB(m), m.Group
		}},
		"RequestPreVoteResponse": {func() any { return &raft.RequestPreVoteResponse{} }, func(v any) (any, string) {
			m := viaWire(t, preVoteRespToPB(g, v.(*raft.RequestPreVoteResponse)))
			return ptr(preVoteRespFromPB(m)), m.Group
		}},
		"TimeoutNowRequest": {func() any { return &raft.TimeoutNowRequest{} }, func(v any) (any, string) {
			m := viaWire(t, timeoutNowReqToPB(g, v.(*raft.TimeoutNowRequest)))
			return timeoutNowReqFromPB(m), m.Group
		}},
		"TimeoutNowResponse": {func() any { return &raft.TimeoutNowResponse{} }, func(v any) (any, string) {
			m := viaWire(t, timeoutNowRespToPB(g, v.(*raft.TimeoutNowResponse)))
			return ptr(timeoutNowRespFromPB(m)), m.Group
		}},
		"InstallSnapshotRequest": {func() any { return &raft.InstallSnapshotRequest{} }, func(v any) (any, string) {
			m := viaWire(t, snapshotReqToPB(g, v.(*raft.InstallSnapshotRequest)))
			return snapshotReqFromPB(m), m.Group
		}},
		"InstallSnapshotResponse": {func() any { return &raft.InstallSnapshotResponse{} }, func(v any) (any, string) {
			m := viaWire(t, snapshotRespToPB(g, v.(*raft.InstallSnapshotResponse)))
			return ptr(snapshotRespFromPB(m)), m.Group
		}},
	}
}

// TestEveryRaftFieldRoundTrips fills every field of every raft RPC struct (including RPCHeader
// and each Log's Extensions and AppendedAt) with random values and requires the protobuf round
// trip to return an identical struct. A field added by a later raft version comes back zero and
// fails this test.
func TestEveryRaftFieldRoundTrips(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for name, c := range roundTrips(t) {
		t.Run(name, func(t *testing.T) {
			for range 50 {
				in := c.sample()
				fillRandom(t, rng, reflect.ValueOf(in).Elem(), name)
				out, group := c.trip(in)
				if group != "group-7" {
					t.Fatalf("group on the wire = %q, want group-7", group)
				}
				if !reflect.DeepEqual(in, out) {
					t.Fatalf("round trip changed %s:\n in: %+v\nout: %+v", name, in, out)
				}
			}
		})
	}
}

// TestZeroValuesRoundTrip: zero structs (nil slices, zero AppendedAt) survive too.
func TestZeroValuesRoundTrip(t *testing.T) {
	for name, c := range roundTrips(t) {
		in := c.sample()
		out, _ := c.trip(in)
		if !reflect.DeepEqual(in, out) {
			t.Errorf("round trip changed zero %s:\n in: %+v\nout: %+v", name, in, out)
		}
	}
	l := &raft.Log{Index: 3, Data: []byte("x")}
	back := logFromPB(viaWire(t, logToPB(l)))
	if !back.AppendedAt.IsZero() || !reflect.DeepEqual(l, back) {
		t.Errorf("zero AppendedAt came back as %v (%+v)", back.AppendedAt, back)
	}
}

func TestIsHeartbeat(t *testing.T) {
	hb := raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{Addr: []byte("a:1")}, Term: 4}
	tests := []struct {
		name string
		mod  func(r *raft.AppendEntriesRequest)
		want bool
	}{
		{"heartbeat", func(*raft.AppendEntriesRequest) {}, true},
		{"legacy leader field", func(r *raft.AppendEntriesRequest) { r.Addr, r.Leader = nil, []byte("a:1") }, true},
		{"no term", func(r *raft.AppendEntriesRequest) { r.Term = 0 }, false},
		{"no leader", func(r *raft.AppendEntriesRequest) { r.Addr = nil }, false},
		{"prev entry", func(r *raft.AppendEntriesRequest) { r.PrevLogEntry = 1 }, false},
		{"prev term", func(r *raft.AppendEntriesRequest) { r.PrevLogTerm = 1 }, false},
		{"entries", func(r *raft.AppendEntriesRequest) { r.Entries = []*raft.Log{{Index: 1}} }, false},
		{"commit index", func(r *raft.AppendEntriesRequest) { r.LeaderCommitIndex = 1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := hb
			tt.mod(&r)
			if got := isHeartbeat(&r); got != tt.want {
				t.Errorf("isHeartbeat = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSplitAppend(t *testing.T) {
	entries := make([]*pb.Log, 40)
	for i := range entries {
		entries[i] = &pb.Log{Index: uint64(101 + i), Term: 3 + uint64(i/20), Data: make([]byte, 1000)}
	}
	m := &pb.AppendEntriesRequest{Group: "g", Term: 9, PrevLogEntry: 100, PrevLogTerm: 2, LeaderCommitIndex: 500, Entries: entries}
	tests := []struct {
		limit     int
		wantParts int
	}{{1 << 20, 1}, {10_000, 5}, {2_500, 20}, {10, 40}}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.limit), func(t *testing.T) {
			parts, err := splitAppend(m, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != tt.wantParts {
				t.Fatalf("%d parts, want %d", len(parts), tt.wantParts)
			}
			prev, prevTerm, n := uint64(100), uint64(2), 0
			for i, p := range parts {
				last := i == len(parts)-1
				if p.size != proto.Size(p.msg) || (len(p.msg.Entries) > 1 && p.size > tt.limit) {
					t.Errorf("part %d: size %d (proto %d), limit %d", i, p.size, proto.Size(p.msg), tt.limit)
				}
				if p.msg.PrevLogEntry != prev || p.msg.PrevLogTerm != prevTerm {
					t.Errorf("part %d: prev %d/%d, want %d/%d", i, p.msg.PrevLogEntry, p.msg.PrevLogTerm, prev, prevTerm)
				}
				lastEntry := p.msg.Entries[len(p.msg.Entries)-1]
				wantCommit := uint64(500)
				if !last {
					wantCommit = lastEntry.Index
				}
				if p.msg.LeaderCommitIndex != wantCommit || p.last != last || p.msg.Term != 9 || p.msg.Group != "g" {
					t.Errorf("part %d: commit %d (want %d), last %v, term %d, group %q", i, p.msg.LeaderCommitIndex, wantCommit, p.last, p.msg.Term, p.msg.Group)
				}
				for _, e := range p.msg.Entries {
					if e != entries[n] {
						t.Fatalf("part %d: entry %d out of order", i, e.Index)
					}
					n++
				}
				prev, prevTerm = lastEntry.Index, lastEntry.Term
			}
			if n != len(entries) {
				t.Errorf("parts carry %d entries, want %d", n, len(entries))
			}
		})
	}
}
