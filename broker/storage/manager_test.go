package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chronik-stream/chronik/walcodec"
)

func TestManagerOpenGetLogs(t *testing.T) {
	root := t.TempDir()
	m := NewManager(root, nil, nil)
	t.Cleanup(func() { _ = m.Close() })

	// Concurrent opens of one partition give one log.
	var wg sync.WaitGroup
	got := make([]*Log, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := m.Open("orders", 1, DefaultLogConfig())
			if err != nil {
				t.Error(err)
			}
			got[i] = l
		}()
	}
	wg.Wait()
	for _, l := range got[1:] {
		if l != got[0] {
			t.Fatal("concurrent Opens returned different logs")
		}
	}
	for _, tp := range []struct {
		topic string
		p     int32
	}{{"orders", 0}, {"audit", 2}, {"audit", 0}} {
		if _, err := m.Open(tp.topic, tp.p, DefaultLogConfig()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "orders", "1", walcodec.SegmentName(1, 1))); err != nil {
		t.Fatalf("segment not at <root>/<topic>/<partition>/: %v", err)
	}
	var names []string
	for _, pl := range m.Logs() {
		names = append(names, fmt.Sprintf("%s/%d", pl.Topic, pl.Partition))
	}
	if fmt.Sprint(names) != "[audit/0 audit/2 orders/0 orders/1]" {
		t.Fatalf("Logs() = %v", names)
	}
	if l, ok := m.Get("orders", 1); !ok || l != got[0] {
		t.Fatal("Get did not return the open log")
	}
	if _, ok := m.Get("orders", 9); ok {
		t.Fatal("Get found a log never opened")
	}
	for _, bad := range []string{"", ".", "..", "a/b", `a\b`, "__meta"} {
		if _, err := m.Open(bad, 0, DefaultLogConfig()); err == nil {
			t.Errorf("Open(%q) accepted", bad)
		}
	}
}

func TestManagerDeleteTopic(t *testing.T) {
	root := t.TempDir()
	m := NewManager(root, nil, nil)
	t.Cleanup(func() { _ = m.Close() })
	l, err := m.Open("gone", 0, DefaultLogConfig())
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, makeBatch(t, spec{}))
	if _, err := m.Open("kept", 0, DefaultLogConfig()); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteTopic("gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "gone")); !os.IsNotExist(err) {
		t.Fatalf("topic directory still there: %v", err)
	}
	if _, ok := m.Get("gone", 0); ok {
		t.Fatal("deleted topic still listed")
	}
	if _, err := l.Append(context.Background(), makeBatch(t, spec{}), AppendOptions{}); err == nil {
		t.Fatal("append to a deleted topic's log succeeded")
	}
	// Re-creating starts from scratch.
	l2, err := m.Open("gone", 0, DefaultLogConfig())
	if err != nil || l2.HighWatermark() != 0 {
		t.Fatalf("recreated topic: %v, HWM %d", err, l2.HighWatermark())
	}
}

func TestManagerRunEnforcesRetention(t *testing.T) {
	m := NewManager(t.TempDir(), nil, nil)
	m.RetentionCheckInterval = 5 * time.Millisecond
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 1024
	cfg.RetentionMs = time.Minute.Milliseconds()
	l, err := m.Open("old", 0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, l, 3, time.Now().Add(-time.Hour).UnixMilli())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	waitFor(t, "retention to run", func() bool { return l.LogStartOffset() == 4 })
	cancel()
	<-done
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Open("old", 1, cfg); err == nil {
		t.Fatal("Open after Close succeeded")
	}
}
