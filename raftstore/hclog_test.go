package raftstore

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestHCLogger(t *testing.T) {
	var buf bytes.Buffer
	l := NewHCLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), "raft")
	tests := []struct {
		name string
		log  func()
		want []string // substrings; nil = nothing logged
	}{
		{"info with args", func() { l.Info("entering leader state", "leader", "n1") }, []string{"level=INFO", "entering leader state", "logger=raft", "leader=n1"}},
		{"debug filtered", func() { l.Debug("hidden") }, nil},
		{"trace filtered", func() { l.Trace("hidden") }, nil},
		{"error with Fmt", func() { l.Error("failed", "cmd", hclog.Fmt("%d-%s", 7, "x")) }, []string{"level=ERROR", "cmd=7-x"}},
		{"named and with", func() { l.Named("snap").With("group", "meta").Warn("slow") }, []string{"level=WARN", "logger=raft.snap", "group=meta"}},
		{"expected message", func() { l.Error("failed to get log", "index", 3) }, []string{"level=INFO", "failed to get log"}},
		{"peer group not started yet", func() {
			l.Error("failed to appendEntries to", "peer", "n3", "error", errors.New(`raft group "data-3" is not running on 127.0.0.1:9093`))
		}, []string{"level=WARN", "failed to appendEntries to"}},
		{"other replication error", func() {
			l.Error("failed to appendEntries to", "peer", "n3", "error", errors.New("connection refused"))
		}, []string{"level=ERROR", "connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf.Reset()
			tt.log()
			out := buf.String()
			if tt.want == nil && out != "" {
				t.Fatalf("logged %q, want nothing", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Fatalf("output %q lacks %q", out, w)
				}
			}
		})
	}
	if l.IsDebug() || !l.IsInfo() || l.GetLevel() != hclog.Info {
		t.Fatalf("levels: debug %v info %v level %v", l.IsDebug(), l.IsInfo(), l.GetLevel())
	}
}
