package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/chronik-stream/chronik/api/consolepb"
)

func only[T tea.Msg](t *testing.T, msgs []tea.Msg) T {
	t.Helper()
	if len(msgs) != 1 {
		t.Fatalf("messages %#v, want one %T", msgs, *new(T))
	}
	m, ok := msgs[0].(T)
	if !ok {
		t.Fatalf("message %#v, want %T", msgs[0], *new(T))
	}
	return m
}

// TestStreamLifecycle: Init connects, states flow through one pending receive at a time, a
// closed stream schedules a reconnect, and the reconnect opens a new stream.
func TestStreamLifecycle(t *testing.T) {
	f := &fakeConsole{states: make(chan *consolepb.ClusterState, 4)}
	c := NewClient(fakeServer(t, f), "tok", false)
	m := New(Options{Client: c, Addr: "fake:9093", Now: fixedNow, TickInterval: -1, BackoffMin: 10 * time.Millisecond})
	t.Cleanup(m.Close)

	rc := only[reconnectMsg](t, exec(t, m.Init()))
	m, cmd := update(t, m, rc)
	if m.conn.status != connConnecting {
		t.Fatalf("after Init: %+v", m.conn)
	}
	f.states <- sampleState(1)
	f.states <- sampleState(2)
	for want := uint64(1); want <= 2; want++ {
		sm := only[stateMsg](t, exec(t, cmd))
		if sm.state.GetSequence() != want {
			t.Fatalf("state %d, want %d", sm.state.GetSequence(), want)
		}
		m, cmd = update(t, m, sm)
	}
	if m.conn.status != connLive || m.state.GetSequence() != 2 {
		t.Fatalf("after two states: %+v", m.conn)
	}
	close(f.states) // the fake node goes away
	closed := only[streamClosedMsg](t, exec(t, cmd))
	if !strings.Contains(closed.err.Error(), "fake node going away") {
		t.Fatalf("closed with %v", closed.err)
	}
	m, cmd = update(t, m, closed)
	if m.conn.status != connDown || !strings.Contains(m.View(), "disconnected from fake:9093: fake node going away") {
		t.Fatalf("after close:\n%s", m.View())
	}
	rc = only[reconnectMsg](t, exec(t, cmd))
	gen := m.conn.gen
	m, cmd = update(t, m, rc)
	if m.conn.gen != gen+1 || m.conn.status != connConnecting {
		t.Fatalf("reconnect: %+v", m.conn)
	}
	// The fake's stream channel is closed: the new stream ends too, and its close is current.
	closed = only[streamClosedMsg](t, exec(t, cmd))
	if closed.gen != m.conn.gen {
		t.Fatalf("close of generation %d, current %d", closed.gen, m.conn.gen)
	}
	if toks := strings.Join(f.tokens, ","); !strings.Contains(toks, "Bearer tok") {
		t.Fatalf("stream calls carried %q", toks)
	}
}

// TestStreamWatchdog: a stream that stays silent for three heartbeats is ended.
func TestStreamWatchdog(t *testing.T) {
	f := &fakeConsole{states: make(chan *consolepb.ClusterState)}
	c := NewClient(fakeServer(t, f), "", false)
	m := New(Options{Client: c, Now: fixedNow, TickInterval: -1, Heartbeat: 20 * time.Millisecond})
	t.Cleanup(m.Close)
	m, cmd := update(t, m, only[reconnectMsg](t, exec(t, m.Init())))
	closed := only[streamClosedMsg](t, exec(t, cmd))
	if closed.err == nil || !strings.Contains(closed.err.Error(), "no message from the node for 60ms") {
		t.Fatalf("watchdog close: %v", closed.err)
	}
	_ = m
}

// TestCloseStopsStream: Close ends the stream goroutine; the pending receive returns.
func TestCloseStopsStream(t *testing.T) {
	f := &fakeConsole{states: make(chan *consolepb.ClusterState)}
	c := NewClient(fakeServer(t, f), "", false)
	m := New(Options{Client: c, Now: fixedNow, TickInterval: -1})
	m, cmd := update(t, m, only[reconnectMsg](t, exec(t, m.Init())))
	m.Close()
	only[streamClosedMsg](t, exec(t, cmd))
	// Reconnecting after Close starts nothing.
	_, cmd = update(t, m, reconnectMsg{gen: m.conn.gen})
	if cmd != nil {
		t.Fatal("a closed session started a stream")
	}
}
