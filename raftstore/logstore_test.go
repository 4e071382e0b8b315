package raftstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
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

// TestLogStoreTailTruncationSurvivesReopen: raft truncating the log's tail (a follower dropping
// a deposed leader's entries) and appending again must leave a log readable after a restart
// (hashicorp/raft-wal#31: without repairingFiler the reopened log fails with "sealed segment
// has no index block").
func TestLogStoreTailTruncationSurvivesReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "raft_wal")
	w, err := OpenLogStore(dir, 512<<10, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs []*raft.Log
	for i := uint64(1); i <= 20; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 1, Data: []byte(fmt.Sprintf("t1-%d", i))})
	}
	if err := w.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
	if err := w.DeleteRange(16, 20); err != nil { // conflicting suffix
		t.Fatal(err)
	}
	var again []*raft.Log
	for i := uint64(16); i <= 25; i++ {
		again = append(again, &raft.Log{Index: i, Term: 2, Data: []byte(fmt.Sprintf("t2-%d", i))})
	}
	if err := w.StoreLogs(again); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err = OpenLogStore(dir, 512<<10, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := uint64(1); i <= 25; i++ {
		var l raft.Log
		if err := w.GetLog(i, &l); err != nil {
			t.Fatalf("index %d after reopen: %v", i, err)
		}
		want := fmt.Sprintf("t1-%d", i)
		if i >= 16 {
			want = fmt.Sprintf("t2-%d", i)
		}
		if string(l.Data) != want {
			t.Fatalf("index %d holds %q, want %q", i, l.Data, want)
		}
	}
	if last, _ := w.LastIndex(); last != 25 {
		t.Fatalf("last index %d, want 25", last)
	}
	// Appends continue after the reopen.
	if err := w.StoreLog(&raft.Log{Index: 26, Term: 2, Data: []byte("t2-26")}); err != nil {
		t.Fatal(err)
	}
}

// TestLogStoreRecoversInterruptedRotation: a crash after the append that sealed a segment but
// before raft-wal recorded the seal (its rotation is asynchronous) must not leave a log that
// refuses every append ("segment is sealed").
func TestLogStoreRecoversInterruptedRotation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "raft_wal")
	w, err := OpenLogStore(dir, 64<<10, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 4<<10)
	var i uint64
	for i = 1; i <= 40; i++ { // 160 KiB through 64 KiB segments: at least two rotations
		if err := w.StoreLog(&raft.Log{Index: i, Term: 1, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Rewind the metadata to the crash window: the last sealed segment is the tail again.
	meta := &metadb.BoltMetaDB{}
	st, err := meta.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Segments) < 2 {
		t.Fatalf("%d segments, want a rotation", len(st.Segments))
	}
	// The next segment did not exist yet either (its file is created after the metadata).
	removed := st.Segments[len(st.Segments)-1]
	if err := os.Remove(filepath.Join(dir, segment.FileName(removed))); err != nil {
		t.Fatal(err)
	}
	st.Segments = st.Segments[:len(st.Segments)-1]
	tail := &st.Segments[len(st.Segments)-1]
	sealedMax := tail.MaxIndex
	tail.SealTime, tail.IndexStart, tail.MaxIndex = time.Time{}, 0, 0
	st.NextSegmentID--
	if err := meta.CommitState(st); err != nil {
		t.Fatal(err)
	}
	if err := meta.Close(); err != nil {
		t.Fatal(err)
	}

	w, err = OpenLogStore(dir, 64<<10, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if last, _ := w.LastIndex(); last != sealedMax {
		t.Fatalf("last index %d after the crash, want %d (the sealed segment's)", last, sealedMax)
	}
	if err := w.StoreLog(&raft.Log{Index: sealedMax + 1, Term: 2, Data: []byte("after")}); err != nil {
		t.Fatalf("append after an interrupted rotation: %v", err)
	}
	for j := uint64(1); j <= sealedMax+1; j++ {
		var l raft.Log
		if err := w.GetLog(j, &l); err != nil {
			t.Fatalf("index %d: %v", j, err)
		}
	}
}
