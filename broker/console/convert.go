package console

import (
	"log/slog"
	"time"

	"github.com/chronik-stream/chronik/api/consolepb"
)

func modeToProto(m Mode) consolepb.Mode {
	switch m {
	case ModeStandalone:
		return consolepb.Mode_MODE_STANDALONE
	case ModeCluster:
		return consolepb.Mode_MODE_CLUSTER
	}
	return consolepb.Mode_MODE_UNSPECIFIED
}

func roleToProto(r Role) consolepb.Role {
	switch r {
	case RoleLeader:
		return consolepb.Role_ROLE_LEADER
	case RoleFollower:
		return consolepb.Role_ROLE_FOLLOWER
	case RoleCandidate:
		return consolepb.Role_ROLE_CANDIDATE
	case RoleNonvoter:
		return consolepb.Role_ROLE_NONVOTER
	case RoleShutdown:
		return consolepb.Role_ROLE_SHUTDOWN
	case RoleUnreachable:
		return consolepb.Role_ROLE_UNREACHABLE
	case RoleJoining:
		return consolepb.Role_ROLE_JOINING
	}
	return consolepb.Role_ROLE_UNSPECIFIED
}

func levelToProto(l slog.Level) consolepb.Level {
	switch {
	case l >= slog.LevelError:
		return consolepb.Level_LEVEL_ERROR
	case l >= slog.LevelWarn:
		return consolepb.Level_LEVEL_WARN
	case l >= slog.LevelInfo:
		return consolepb.Level_LEVEL_INFO
	}
	return consolepb.Level_LEVEL_DEBUG
}

const lastContactStep = 100 * time.Millisecond

func memberToProto(m Member) *consolepb.Member {
	lc := int64(-1)
	if m.LastContact >= 0 {
		// 100 ms steps: finer ones would make every sample a change to push.
		lc = m.LastContact.Truncate(lastContactStep).Milliseconds()
	}
	return &consolepb.Member{
		Id:             m.ID,
		Address:        m.Addr,
		Role:           roleToProto(m.Role),
		Term:           m.Term,
		LastContactMs:  lc,
		ReplicationLag: m.ReplicationLag,
		Voter:          m.Voter,
		KafkaAddress:   m.KafkaAddr,
	}
}

func migrationToProto(m MigrationNode) *consolepb.MigrationNode {
	return &consolepb.MigrationNode{
		NodeId:        m.NodeID,
		SegmentsV3:    m.SegmentsV3,
		SegmentsTotal: m.Total,
		State:         m.State,
		Detail:        m.Detail,
	}
}

func eventToProto(e Event, node uint64) *consolepb.Event {
	return &consolepb.Event{
		Seq:        e.Seq,
		TimeUnixMs: e.Time.UnixMilli(),
		Level:      levelToProto(e.Level),
		Message:    e.Message,
		NodeId:     node,
	}
}
