package raftstore

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if c.HeartbeatTimeout != 200*time.Millisecond || c.ElectionTimeout != 200*time.Millisecond ||
		c.LeaderLeaseTimeout != 100*time.Millisecond || c.MaxAppendEntries != 512 || !c.BatchApplyCh ||
		!c.EnablePipeline || c.SegmentSize != 8<<20 {
		t.Fatalf("unexpected defaults %+v", c)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"tiny heartbeat", func(c *Config) { c.HeartbeatTimeout = time.Millisecond }, "heartbeat_timeout_ms"},
		{"election below heartbeat", func(c *Config) { c.ElectionTimeout = 100 * time.Millisecond }, "election_timeout_ms"},
		{"lease above heartbeat", func(c *Config) { c.LeaderLeaseTimeout = time.Second }, "leader_lease_timeout_ms"},
		{"too many entries", func(c *Config) { c.MaxAppendEntries = 2048 }, "max append entries"},
		{"no entries", func(c *Config) { c.MaxAppendEntries = 0 }, "max append entries"},
		{"pipeline without window", func(c *Config) { c.MaxInFlight = 0 }, "max_in_flight"},
		{"no window, no pipeline", func(c *Config) { c.MaxInFlight, c.EnablePipeline = 0, false }, ""},
		{"negative segment", func(c *Config) { c.SegmentSize = -1 }, "segment size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mod(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
}

func TestRaftConfig(t *testing.T) {
	c := DefaultConfig()
	c.TrailingLogs = 77
	rc, err := c.RaftConfig("n1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if rc.LocalID != "n1" || rc.HeartbeatTimeout != c.HeartbeatTimeout || rc.ElectionTimeout != c.ElectionTimeout ||
		rc.LeaderLeaseTimeout != c.LeaderLeaseTimeout || rc.MaxAppendEntries != 512 || !rc.BatchApplyCh ||
		rc.TrailingLogs != 77 || rc.PreVoteDisabled || rc.RestoreCommittedLogs || rc.Logger == nil {
		t.Fatalf("unexpected raft config %+v", rc)
	}
	if err := raft.ValidateConfig(rc); err != nil {
		t.Fatal(err)
	}
	c.LeaderLeaseTimeout = time.Hour
	if _, err := c.RaftConfig("n1", nil); err == nil {
		t.Fatal("RaftConfig accepted an invalid config")
	}
}

func TestDeadlines(t *testing.T) {
	d := DefaultConfig().Deadlines()
	if d.Heartbeat > DefaultHeartbeatTimeout/2 || d.Heartbeat <= 0 {
		t.Fatalf("heartbeat deadline %v, want ≤ HT/2", d.Heartbeat)
	}
	if got := d.scaled(d.Append, 16<<20); got != d.Append+2*time.Second {
		t.Fatalf("16 MiB append deadline %v, want base + 2s", got)
	}
	if got := d.scaled(d.Snapshot, 0); got != d.Snapshot {
		t.Fatalf("empty snapshot deadline %v, want base", got)
	}
}
