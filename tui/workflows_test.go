package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// pump runs cmd and feeds back the console's own messages (modal requests, step starts and
// results) until nothing is left.
func pump(t *testing.T, m Model, cmd tea.Cmd) Model {
	t.Helper()
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		for _, msg := range exec(t, c) {
			switch msg.(type) {
			case confirmRequestMsg, startStepMsg, stepResultMsg, skipStepMsg, resetPlanMsg:
				var next tea.Cmd
				m, next = update(t, m, msg)
				queue = append(queue, next)
			}
		}
	}
	return m
}

// press sends keys one by one, pumping what each one starts.
func press(t *testing.T, m Model, ks ...string) Model {
	t.Helper()
	for _, k := range ks {
		var cmd tea.Cmd
		m, cmd = update(t, m, keyMsg(k))
		m = pump(t, m, cmd)
	}
	return m
}

func stepOf(m Model, i int) step { return m.flows.plans[m.flows.cur].steps[i] }

func connectedModel(t *testing.T, f *fakeConsole, token string, readOnly bool) Model {
	t.Helper()
	c := NewClient(fakeServer(t, f), token, readOnly)
	m := testModel(Options{Client: c})
	t.Cleanup(m.Close)
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	return withState(t, m, sampleState(1))
}

// TestInPlaceWorkflow walks the in-place plan against a fake node that implements Preflight,
// Backup and RunValidation only: unimplemented steps end up blocked, never done.
func TestInPlaceWorkflow(t *testing.T) {
	f := &fakeConsole{states: make(chan *consolepb.ClusterState)}
	m := connectedModel(t, f, "tok", false)
	m = press(t, m, "4", "x")
	if s := stepOf(m, 0); s.status != statusDone || !strings.Contains(s.summary, "2 checks on node 1: 1 pass, 1 warn") {
		t.Fatalf("preflight: %v %q", s.status, s.summary)
	}
	m = press(t, m, "x")
	if s := stepOf(m, 1); s.status != statusDone || s.summary != "recorded 2 topics, 3 partitions" {
		t.Fatalf("baseline: %v %q", s.status, s.summary)
	}
	m = press(t, m, "x")
	if s := stepOf(m, 2); s.status != statusDone || !strings.Contains(s.summary, "50000 records/s") {
		t.Fatalf("throughput: %v %q", s.status, s.summary)
	}
	if b := m.flows.baselines[m.flows.cur]; b == nil || b.recordsPerSec != 50000 || len(b.hwms) != 3 {
		t.Fatalf("baseline after the throughput step: %+v", b)
	}
	// Backup asks y/n; n cancels, y runs.
	m = press(t, m, "x", "n")
	if s := stepOf(m, 3); s.status != statusPending || len(f.backups) != 0 {
		t.Fatalf("backup after n: %v, %v", s.status, f.backups)
	}
	m = press(t, m, "x")
	if !strings.Contains(m.View(), "Proceed? [y/n]") {
		t.Fatalf("no y/n prompt:\n%s", m.View())
	}
	m = press(t, m, "y")
	if s := stepOf(m, 3); s.status != statusDone || !strings.Contains(s.summary, "written and verified /var/lib/chronik/chronik-backup-20261126-093000.tar.gz: 4 files") || !strings.Contains(s.summary, "2 topics, 3 partitions, 2142 records") {
		t.Fatalf("backup: %v %q", s.status, s.summary)
	}
	// Irreversible: typed name; the fake answers UNIMPLEMENTED → blocked, with what to do next.
	m = press(t, m, "x", "s", "k", "i", "p", "enter", "1", "2", "7", ".", "0", ".", "0", ".", "1", ":", "9", "0", "9", "3", "enter")
	if s := stepOf(m, 4); s.status != statusBlocked || !strings.Contains(s.summary, "UNIMPLEMENTED") ||
		!strings.Contains(strings.Join(s.lines, " "), "StartWalMigration") || s.next == "" {
		t.Fatalf("wal migration: %v %q %q next %q", s.status, s.summary, s.lines, s.next)
	}
	if !strings.Contains(m.View(), "Next: run the step's command by hand") {
		t.Fatalf("no next hint:\n%s", m.View())
	}
	if len(f.walStarts) != 1 || !f.walStarts[0].GetSkipErrors() || stepOf(m, 4).input != "skip" {
		t.Fatalf("StartWalMigration requests %v (want skip_errors after typing skip)", f.walStarts)
	}
	// Running a blocked step again asks again (no silent re-run).
	m = press(t, m, "x")
	if s := stepOf(m, 4); s.status != statusBlocked {
		t.Fatal("blocked step re-ran without confirmation")
	}
	m = press(t, m, "esc", "s", "y", "j")
	// Observe: the sample state's migration is not complete, so the step waits; the next state
	// with every segment in V3 completes it and the cursor moves on.
	m = press(t, m, "x")
	if s := stepOf(m, 5); s.status != statusRunning || !strings.Contains(s.summary, "waiting: node 1: 3/8 segments V3") {
		t.Fatalf("observe wal: %v %q", s.status, s.summary)
	}
	migrated := sampleState(2)
	migrated.Migration[0].SegmentsV3, migrated.Migration[0].State = 8, "done"
	m = withState(t, m, migrated)
	if s := stepOf(m, 5); s.status != statusDone || !strings.Contains(s.summary, "observed: node 1: 8/8 segments V3") {
		t.Fatalf("observe wal after the migration: %v %q", s.status, s.summary)
	}
	// Manual step: the operator confirms.
	m = press(t, m, "x", "y")
	if s := stepOf(m, 6); s.status != statusDone || !strings.Contains(s.summary, "confirmed by the operator") {
		t.Fatalf("manual: %v %q", s.status, s.summary)
	}
	m = press(t, m, "x")
	if s := stepOf(m, 7); s.status != statusRunning || !strings.Contains(s.summary, "waiting: node 1 runs standalone") {
		t.Fatalf("observe: %v %q", s.status, s.summary)
	}
	m = press(t, m, "j", "x")
	if !strings.Contains(m.View(), "run step 8 first (or skip it with s)") {
		t.Fatalf("order not enforced:\n%s", m.View())
	}
	m = press(t, m, "k", "s", "y", "j")
	// AddNode asks for the address, then y/n; the fake answers UNIMPLEMENTED.
	m = press(t, m, "x", "n", "2", ":", "9", "0", "9", "3", "enter", "y")
	if s := stepOf(m, 8); s.status != statusBlocked || s.input != "n2:9093" {
		t.Fatalf("add node: %v %q input %q", s.status, s.summary, s.input)
	}
	m = press(t, m, "s", "y", "j", "s", "y", "j", "x")
	s := stepOf(m, 10)
	if s.status != statusFailed || !strings.Contains(s.summary, "1 fail") || !strings.Contains(strings.Join(s.lines, "\n"), "baseline of 3") {
		t.Fatalf("validate: %v %q %q", s.status, s.summary, s.lines)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, tok := range f.tokens {
		if tok != "Bearer tok" {
			t.Fatalf("authorization %q sent", tok)
		}
	}
	if len(f.tokens) < 3 {
		t.Fatalf("only %d calls carried the token", len(f.tokens))
	}
}

// TestReadOnlyWorkflow: in read-only mode mutating steps are not sent (blocked, no prompt) and
// nothing mutating reaches the node; read-only steps still run.
func TestReadOnlyWorkflow(t *testing.T) {
	f := &fakeConsole{states: make(chan *consolepb.ClusterState)}
	m := connectedModel(t, f, "tok", true)
	m = press(t, m, "4", "x", "x", "x")
	if s := stepOf(m, 2); s.status != statusBlocked || !strings.Contains(s.summary, "read-only") {
		t.Fatalf("throughput in read-only mode: %v %q", s.status, s.summary)
	}
	m = press(t, m, "s", "y", "j", "x")
	if s := stepOf(m, 3); s.status != statusBlocked || !strings.Contains(s.summary, "read-only") {
		t.Fatalf("backup in read-only mode: %v %q", s.status, s.summary)
	}
	if len(f.backups) != 0 {
		t.Fatalf("backup reached the node: %v", f.backups)
	}
	if !strings.Contains(m.View(), "READ-ONLY") {
		t.Fatal("header does not say READ-ONLY")
	}
	if stepOf(m, 0).status != statusDone {
		t.Fatal("preflight did not run in read-only mode")
	}
}

// TestWithoutToken: a mutating step without a token reports UNAUTHENTICATED, not done.
func TestWithoutToken(t *testing.T) {
	f := &fakeConsole{states: make(chan *consolepb.ClusterState)}
	m := connectedModel(t, f, "", false)
	m = press(t, m, "4", "x", "x", "s", "y", "j", "x", "y")
	if s := stepOf(m, 3); s.status != statusFailed || !strings.Contains(s.summary, "--token") {
		t.Fatalf("backup without token: %v %q", s.status, s.summary)
	}
}

// TestWaitingStepTimesOut: a waiting step that the pushed states never satisfy fails at the
// first tick after its timeout, with what is missing and what to do.
func TestWaitingStepTimesOut(t *testing.T) {
	f := &fakeConsole{states: make(chan *consolepb.ClusterState)}
	now := testEpoch
	c := NewClient(fakeServer(t, f), "tok", false)
	m := testModel(Options{Client: c, Now: func() time.Time { return now }})
	t.Cleanup(m.Close)
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	m = withState(t, m, sampleState(1))
	m = press(t, m, "4", "l", "x", "y", "x") // blue-green: bootstrap confirmed, then wait for green
	if s := stepOf(m, 1); s.status != statusRunning || !strings.Contains(s.summary, "waiting: node 1 runs standalone") {
		t.Fatalf("waiting: %v %q", s.status, s.summary)
	}
	now = now.Add(time.Minute)
	m, _ = update(t, m, tickMsg(now))
	if s := stepOf(m, 1); s.status != statusRunning {
		t.Fatalf("after a minute: %v %q", s.status, s.summary)
	}
	now = now.Add(time.Minute + time.Second)
	m, _ = update(t, m, tickMsg(now))
	if s := stepOf(m, 1); s.status != statusFailed || !strings.Contains(s.summary, "not after 2m0s: node 1 runs standalone") || s.next == "" ||
		s.took != 2*time.Minute+time.Second {
		t.Fatalf("after the timeout: %v %q next %q took %v", s.status, s.summary, s.next, s.took)
	}
}
