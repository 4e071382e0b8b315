package tui

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// steppingClock advances by step at every reading, so every step that runs takes time.
func steppingClock(step time.Duration) func() time.Time {
	var mu sync.Mutex
	now := testEpoch
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(step)
		return now
	}
}

func persistedModel(t *testing.T, f *fakeConsole, file string) Model {
	t.Helper()
	c := NewClient(fakeServer(t, f), "tok", false)
	m := testModel(Options{Client: c, WorkflowFile: file, Now: steppingClock(1500 * time.Millisecond)})
	t.Cleanup(m.Close)
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	return withState(t, m, sampleState(1))
}

// TestWorkflowResumesAfterRestart: progress, durations, the baseline and the selected step come
// back in a new console; a step that was running when the console stopped is shown as
// interrupted, never as done.
func TestWorkflowResumesAfterRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state", "workflows.json")
	f := &fakeConsole{states: make(chan *consolepb.ClusterState)}
	m := persistedModel(t, f, file)
	m = press(t, m, "4", "x", "x") // in-place: preflight, baseline
	if s := stepOf(m, 1); s.status != statusDone || s.took <= 0 {
		t.Fatalf("baseline: %v took %v", s.status, s.took)
	}
	took := stepOf(m, 1).took
	m = press(t, m, "k")
	if v := m.View(); !strings.Contains(v, "Result: done in "+stepDuration(stepOf(m, 1))+" — recorded 2 topics, 3 partitions") {
		t.Fatalf("no duration in the result:\n%s", v)
	}
	m = press(t, m, "j")
	m.Close()

	r := persistedModel(t, f, file)
	r = press(t, r, "4")
	if r.flows.cur != 0 || r.flows.sel[0] != 2 {
		t.Fatalf("restored plan %d step %d, want in-place step 3", r.flows.cur, r.flows.sel[0]+1)
	}
	for i, want := range []stepStatus{statusDone, statusDone, statusPending} {
		if s := stepOf(r, i); s.status != want {
			t.Fatalf("step %d restored as %v, want %v", i+1, s.status, want)
		}
	}
	if s := stepOf(r, 1); s.took != took || s.summary != "recorded 2 topics, 3 partitions" {
		t.Fatalf("baseline step restored as took %v summary %q", s.took, s.summary)
	}
	if b := r.flows.baselines[0]; b == nil || len(b.topics) != 2 || len(b.hwms) != 3 {
		t.Fatalf("baseline not restored: %+v", b)
	}
	if b := r.flows.baselines[1]; b != nil {
		t.Fatalf("the blue-green workflow got the in-place baseline: %+v", b)
	}

	// A step that was running when the console died.
	r.flows.plans[0].steps[2].status = statusRunning
	if err := r.flows.save(); err != nil {
		t.Fatal(err)
	}
	r2 := persistedModel(t, f, file)
	r2 = press(t, r2, "4")
	if s := stepOf(r2, 2); s.status != statusFailed || !strings.Contains(s.summary, "interrupted") || s.next == "" {
		t.Fatalf("running step restored as %v %q next %q", s.status, s.summary, s.next)
	}

	// R resets the workflow (after y/n) and the file forgets it too.
	r2 = press(t, r2, "R", "y")
	if s := stepOf(r2, 0); s.status != statusPending || r2.flows.sel[0] != 0 {
		t.Fatalf("after reset: step 1 %v, selected %d", s.status, r2.flows.sel[0])
	}
	r3 := persistedModel(t, f, file)
	if s := r3.flows.plans[0].steps[0]; s.status != statusPending {
		t.Fatalf("reset not saved: step 1 %v", s.status)
	}
}

// TestWorkflowFileUnreadable: a damaged file is reported and left as it is.
func TestWorkflowFileUnreadable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "workflows.json")
	if err := os.WriteFile(file, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fakeConsole{states: make(chan *consolepb.ClusterState)}
	m := persistedModel(t, f, file)
	m = press(t, m, "4")
	if !strings.Contains(m.View(), "workflows.json is not valid JSON") {
		t.Fatalf("no error shown:\n%s", m.View())
	}
	if b, _ := os.ReadFile(file); string(b) != "{not json" {
		t.Fatalf("damaged file overwritten: %q", b)
	}
}
