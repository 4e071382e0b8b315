package tui

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chronik-stream/chronik/api/consolepb"
)

func withState(t *testing.T, m Model, st *consolepb.ClusterState) Model {
	t.Helper()
	m, _ = update(t, m, stateMsg{gen: m.conn.gen, state: st, at: testEpoch})
	return m
}

// TestViewFitsEverySize: the view has exactly the terminal's height and no line wider than it,
// for every tab, from tiny to large, including after a resize.
func TestViewFitsEverySize(t *testing.T) {
	m := withState(t, testModel(Options{}), sampleState(1))
	for _, sz := range [][2]int{{20, 5}, {60, 15}, {80, 24}, {100, 30}, {160, 48}, {45, 40}} {
		m, _ = update(t, m, tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		for tb := range numTabs {
			m.tab = tab(tb)
			v := m.View()
			lines := strings.Split(v, "\n")
			if len(lines) != sz[1] {
				t.Errorf("%dx%d %s: %d lines", sz[0], sz[1], tab(tb), len(lines))
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w > sz[0] {
					t.Errorf("%dx%d %s: line %d is %d cells wide: %q", sz[0], sz[1], tab(tb), i, w, l)
				}
			}
		}
	}
}

func TestTabKeys(t *testing.T) {
	m := testModel(Options{})
	for _, tt := range []struct {
		key  string
		want tab
	}{
		{"2", tabPartitions}, {"5", tabEvents}, {"tab", tabOverview}, {"shift+tab", tabEvents},
		{"3", tabMigration}, {"4", tabWorkflows}, {"1", tabOverview},
	} {
		m, _ = update(t, m, keyMsg(tt.key))
		if m.tab != tt.want {
			t.Fatalf("after %q: tab %s, want %s", tt.key, m.tab, tt.want)
		}
	}
	// Several keys in one message are taken one by one.
	m, _ = update(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("24")})
	if m.tab != tabWorkflows {
		t.Fatalf("after \"24\": tab %s", m.tab)
	}
	if _, cmd := update(t, m, keyMsg("q")); !isQuit(t, cmd) {
		t.Fatal("q does not quit")
	}
	m, _ = update(t, m, keyMsg("?"))
	if !strings.Contains(m.View(), "prev workflow") || !strings.Contains(m.View(), "reconnect now") {
		t.Fatalf("full help lacks the tab's and the global keys:\n%s", m.View())
	}
}

func isQuit(t *testing.T, cmd tea.Cmd) bool {
	for _, msg := range exec(t, cmd) {
		if _, ok := msg.(tea.QuitMsg); ok {
			return true
		}
	}
	return false
}

func TestStateHeaderAndStaleGenerations(t *testing.T) {
	m := testModel(Options{})
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 30})
	if v := m.View(); !strings.Contains(v, "no cluster state yet") || !strings.Contains(v, "waiting for the first cluster state") {
		t.Fatalf("initial view:\n%s", v)
	}
	m = withState(t, m, sampleState(1))
	v := m.View()
	for _, want := range []string{"cluster chronik · node 1 (standalone) · leader node 1 · 1 member", "updated just now",
		"127.0.0.1:9093", "healthy: 1 member, leader elected", "Groups:  CompletingRebalance 0 · Empty 1"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	// A state from an older stream generation is ignored.
	old := sampleState(9)
	old.LeaderId = 0
	m, _ = update(t, m, stateMsg{gen: m.conn.gen - 1, state: old, at: testEpoch})
	if m.state.GetSequence() != 1 {
		t.Fatalf("stale generation applied: %v", m.state)
	}
	// No leader → degraded.
	noLeader := sampleState(2)
	noLeader.LeaderId = 0
	m = withState(t, m, noLeader)
	if v := m.View(); !strings.Contains(v, "degraded: no leader") || !strings.Contains(v, "no leader ·") {
		t.Fatalf("no-leader view:\n%s", v)
	}
}

func TestStreamClosedBacksOff(t *testing.T) {
	m := testModel(Options{BackoffMin: 100 * time.Millisecond, BackoffMax: 700 * time.Millisecond})
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 160, Height: 30})
	m = withState(t, m, sampleState(1))
	var got []time.Duration
	for range 5 {
		var cmd tea.Cmd
		m, cmd = update(t, m, streamClosedMsg{gen: m.conn.gen, err: status.Error(codes.Unavailable, "connection refused")})
		if cmd == nil {
			t.Fatal("no reconnect scheduled")
		}
		got = append(got, m.conn.retryIn)
	}
	want := []time.Duration{100, 200, 400, 700, 700}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("backoffs %v, want %v ms", got, want)
		}
	}
	v := m.View()
	if !strings.Contains(v, "disconnected from 127.0.0.1:9093: connection refused · retry in") ||
		!strings.Contains(v, "degraded: console disconnected") || !strings.Contains(v, "data from just now") {
		t.Fatalf("disconnected view:\n%s", v)
	}
	// The old data stays; a new state makes it live again and resets the backoff.
	m = withState(t, m, sampleState(2))
	if m.conn.status != connLive || m.conn.attempts != 0 {
		t.Fatalf("after a state: %+v", m.conn)
	}
	// A stale close (older generation) changes nothing.
	m, cmd := update(t, m, streamClosedMsg{gen: m.conn.gen + 5})
	if cmd != nil || m.conn.status != connLive {
		t.Fatal("close of another generation was not ignored")
	}
}

func TestPartitionsFilter(t *testing.T) {
	m := withState(t, testModel(Options{}), sampleState(1))
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 30})
	m, _ = update(t, m, keys("2", "/", "p", "a", "y", "q", "1")...)
	if m.tab != tabPartitions || m.parts.filter.Value() != "payq1" {
		t.Fatalf("while filtering keys went elsewhere: tab %s, filter %q", m.tab, m.parts.filter.Value())
	}
	m, _ = update(t, m, tea.KeyMsg{Type: tea.KeyBackspace}, tea.KeyMsg{Type: tea.KeyBackspace}, keyMsg("enter"))
	v := m.View()
	if !strings.Contains(v, "payments") || strings.Contains(v, "orders") || !strings.Contains(v, "1 of 3 partitions") {
		t.Fatalf("filtered view:\n%s", v)
	}
	m, _ = update(t, m, keyMsg("esc"))
	if v := m.View(); !strings.Contains(v, "orders") || !strings.Contains(v, "3 of 3 partitions") {
		t.Fatalf("after esc:\n%s", v)
	}
	// Table navigation keys do not leave the tab.
	m, _ = update(t, m, keys("j", "d", "g", "G", "u", "b", "f", " ")...)
	if m.tab != tabPartitions {
		t.Fatalf("table key switched tab to %s", m.tab)
	}
}

func TestSparklineHistory(t *testing.T) {
	m := testModel(Options{})
	for i, r := range []float64{0, 10, 20, 40} {
		st := sampleState(uint64(i + 1))
		st.Topics[0].Partitions[0].ProduceRate = r
		m = withState(t, m, st)
	}
	hb := sampleState(4)
	hb.Heartbeat = true
	m = withState(t, m, hb) // a heartbeat adds no sample
	if h := m.parts.history[partKey{"orders", 0}]; len(h) != 4 || h[3] != 40 {
		t.Fatalf("history %v", h)
	}
	if s := sparkline([]float64{0, 10, 20, 40}, 8); s != "▁▃▅█" {
		t.Fatalf("sparkline %q", s)
	}
}

func TestEventsDedupedAcrossReconnects(t *testing.T) {
	m := withState(t, testModel(Options{}), sampleState(1))
	m, _ = update(t, m, streamClosedMsg{gen: m.conn.gen, err: errors.New("eof")})
	again := sampleState(1) // a new stream resends the recent events
	again.Events = append(again.Events, &consolepb.Event{Seq: 4, TimeUnixMs: testEpoch.UnixMilli(), Message: "new one", NodeId: 1})
	m = withState(t, m, again)
	if n := len(m.events.events); n != 4 {
		t.Fatalf("%d events after a resend, want 4", n)
	}
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 20}, keyMsg("5"))
	if v := m.View(); !strings.Contains(v, "09:29:50 WARN  n1 high watermark of orders/1") || !strings.Contains(v, "new one") {
		t.Fatalf("events view:\n%s", v)
	}
}

func TestModalYesNoAndTyped(t *testing.T) {
	m := testModel(Options{})
	var ran []string
	yn := confirmRequestMsg{Kind: modalYesNo, Title: "Do it?", OnConfirm: func(v string) tea.Cmd {
		return func() tea.Msg { ran = append(ran, "yn"); return nil }
	}}
	m, _ = update(t, m, yn)
	m, cmd := update(t, m, keyMsg("enter"), keyMsg("x"), keyMsg("q"))
	if m.modal == nil || cmd != nil {
		t.Fatal("enter/x/q closed a y/n modal")
	}
	m, cmd = update(t, m, keyMsg("y"))
	exec(t, cmd)
	if m.modal != nil || len(ran) != 1 {
		t.Fatalf("y: modal %v, ran %v", m.modal, ran)
	}
	typed := confirmRequestMsg{Kind: modalTyped, Title: "Really?", Expect: "chronik", OnConfirm: func(v string) tea.Cmd {
		return func() tea.Msg { ran = append(ran, "typed:"+v); return nil }
	}}
	m, _ = update(t, m, typed)
	m, _ = update(t, m, append(keys("c", "h", "r", "o", "n"), keyMsg("enter"))...)
	if m.modal == nil || !strings.Contains(m.View(), "does not match") {
		t.Fatalf("partial name accepted:\n%s", m.View())
	}
	m, cmd = update(t, m, append(keys("i", "k"), keyMsg("enter"))...)
	exec(t, cmd)
	if m.modal != nil || len(ran) != 2 || ran[1] != "typed:chronik" {
		t.Fatalf("typed: modal %v, ran %v", m.modal, ran)
	}
	m, _ = update(t, m, typed)
	m, _ = update(t, m, keyMsg("esc"))
	if m.modal != nil || len(ran) != 2 {
		t.Fatal("esc did not cancel")
	}
}

func TestFailureClassification(t *testing.T) {
	for _, tt := range []struct {
		err     error
		status  stepStatus
		summary string
	}{
		{status.Error(codes.Unimplemented, "AddNode needs cluster mode"), statusBlocked, "UNIMPLEMENTED"},
		{ErrReadOnly, statusBlocked, "read-only"},
		{status.Error(codes.Unauthenticated, "needs token"), statusFailed, "--token"},
		{status.Error(codes.Unavailable, "down"), statusFailed, "unreachable"},
		{status.Error(codes.OutOfRange, "beyond"), statusFailed, "OutOfRange"},
	} {
		o := failure(tt.err)
		if o.status != tt.status || !strings.Contains(o.summary, tt.summary) {
			t.Errorf("failure(%v) = %v %q", tt.err, o.status, o.summary)
		}
	}
}
