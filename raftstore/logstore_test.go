package raftstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
)

// TestOpenLogStore: the WAL is created in a new directory with the configured segment size,
// works as LogStore and StableStore, and keeps its contents across a reopen.
func TestOpenLogStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "raft_wal")
	w, err := OpenLogStore(dir, 512<<10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.StoreLogs([]*raft.Log{{Index: 1, Term: 1, Data: []byte("a")}, {Index: 2, Term: 1, Data: []byte("b")}}); err != nil {
		t.Fatal(err)
	}
	if err := w.SetUint64([]byte("CurrentTerm"), 7); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var segments int
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".wal") {
			segments++
			info, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			if info.Size() != 512<<10 {
				t.Fatalf("segment %s is %d bytes, want the configured 512 KiB", e.Name(), info.Size())
			}
		}
	}
	if segments != 1 {
		t.Fatalf("%d segment files, want 1", segments)
	}
	if _, err := OpenLogStore(dir, 0, nil); !errors.Is(err, ErrLogInUse) {
		t.Fatalf("second open of an open log: %v, want ErrLogInUse", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	w, err = OpenLogStore(dir, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var _ raft.MonotonicLogStore = w
	var l raft.Log
	if err := w.GetLog(2, &l); err != nil || string(l.Data) != "b" {
		t.Fatalf("GetLog(2) = %+v, %v", l, err)
	}
	if term, err := w.GetUint64([]byte("CurrentTerm")); err != nil || term != 7 {
		t.Fatalf("CurrentTerm = %d, %v", term, err)
	}
}

func TestOpenSnapshotStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "raft_snapshots")
	s, err := OpenSnapshotStore(dir, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := s.Create(raft.SnapshotVersionMax, 10, 2, raft.Configuration{}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sink.Write([]byte("state")); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	metas, err := s.List()
	if err != nil || len(metas) != 1 || metas[0].Index != 10 || metas[0].Size != 5 {
		t.Fatalf("List = %+v, %v", metas, err)
	}
}
