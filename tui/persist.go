package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// Workflow progress is kept in a small JSON file (Options.WorkflowFile) so that a workflow
// resumes where it was when the console restarts or connects to another node (blue → green).
// It is rewritten atomically after every step change; the write is synchronous because the file
// is a few KiB and its order must follow the order of the changes.

const workflowFileVersion = 1

type savedWorkflows struct {
	Version int         `json:"version"`
	SavedAt time.Time   `json:"saved_at"`
	Current string      `json:"current"` // plan name
	Plans   []savedPlan `json:"plans"`
}

type savedPlan struct {
	Name     string         `json:"name"`
	Selected int            `json:"selected"`
	Steps    []savedStep    `json:"steps"`
	Baseline *savedBaseline `json:"baseline,omitempty"`
}

type savedStep struct {
	Title      string    `json:"title"`
	Status     string    `json:"status"`
	Summary    string    `json:"summary,omitempty"`
	Next       string    `json:"next,omitempty"`
	Lines      []string  `json:"lines,omitempty"`
	Input      string    `json:"input,omitempty"`
	Started    time.Time `json:"started,omitzero"`
	DurationMs int64     `json:"duration_ms,omitempty"`
}

type savedBaseline struct {
	Topics        []string          `json:"topics"`
	HWMs          []savedPartOffset `json:"high_watermarks"`
	RecordsPerSec float64           `json:"records_per_sec,omitempty"`
	RecordBytes   uint32            `json:"record_bytes,omitempty"`
	MeasuredOn    string            `json:"measured_on,omitempty"`
}

type savedPartOffset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

var statusNames = map[stepStatus]string{
	statusPending: "pending", statusRunning: "running", statusDone: "done",
	statusFailed: "failed", statusBlocked: "blocked", statusSkipped: "skipped",
}

func parseStatus(s string) (stepStatus, bool) {
	for k, v := range statusNames {
		if v == s {
			return k, true
		}
	}
	return 0, false
}

// save writes the workflows' progress to path (atomically: temp file, fsync, rename).
func (t *workflowsTab) save() error {
	path := t.o.WorkflowFile
	if path == "" {
		return nil
	}
	sw := savedWorkflows{Version: workflowFileVersion, SavedAt: t.o.Now().UTC(), Current: t.plans[t.cur].name}
	for pi, p := range t.plans {
		sp := savedPlan{Name: p.name, Selected: t.sel[pi]}
		for _, s := range p.steps {
			sp.Steps = append(sp.Steps, savedStep{
				Title: s.title, Status: statusNames[s.status], Summary: s.summary, Next: s.next,
				Lines: s.lines, Input: s.input, Started: s.started, DurationMs: s.took.Milliseconds(),
			})
		}
		if b := t.baselines[pi]; b != nil {
			sb := &savedBaseline{Topics: b.topics, RecordsPerSec: b.recordsPerSec, RecordBytes: b.recordBytes, MeasuredOn: b.measuredOn}
			for _, h := range b.hwms {
				sb.HWMs = append(sb.HWMs, savedPartOffset{h.GetTopic(), h.GetPartition(), h.GetOffset()})
			}
			sp.Baseline = sb
		}
		sw.Plans = append(sw.Plans, sp)
	}
	data, err := json.MarshalIndent(sw, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding workflow state: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("workflow state directory: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("writing workflow state %s: %w", tmp, err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("writing workflow state %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync workflow state %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing workflow state %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replacing workflow state %s: %w", path, err)
	}
	return nil
}

// load restores progress saved by save. Plans and steps are matched by name and title, so a
// console of another version keeps what still applies. A step that was running when the
// console stopped is shown as interrupted (failed): its RPC may or may not have taken effect.
// A missing file is not an error.
func (t *workflowsTab) load() error {
	path := t.o.WorkflowFile
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading workflow state: %w", err)
	}
	var sw savedWorkflows
	if err := json.Unmarshal(data, &sw); err != nil {
		return fmt.Errorf("workflow state %s is not valid JSON (move it away to start over): %w", path, err)
	}
	if sw.Version != workflowFileVersion {
		return fmt.Errorf("workflow state %s has version %d, this console reads %d (move it away to start over)", path, sw.Version, workflowFileVersion)
	}
	for _, sp := range sw.Plans {
		pi := t.planIndex(sp.Name)
		if pi < 0 {
			continue
		}
		p := &t.plans[pi]
		for _, ss := range sp.Steps {
			for si := range p.steps {
				s := &p.steps[si]
				if s.title != ss.Title {
					continue
				}
				st, ok := parseStatus(ss.Status)
				if !ok {
					return fmt.Errorf("workflow state %s: step %q has unknown status %q", path, ss.Title, ss.Status)
				}
				s.status, s.summary, s.next, s.lines, s.input = st, ss.Summary, ss.Next, ss.Lines, ss.Input
				s.started, s.took = ss.Started, time.Duration(ss.DurationMs)*time.Millisecond
				if st == statusRunning {
					s.status = statusFailed
					s.summary = "interrupted: the console stopped while this step ran"
					s.next = "check whether it took effect (Overview, Events), then run it again (x) or skip it (s)"
				}
			}
		}
		t.sel[pi] = min(max(0, sp.Selected), len(p.steps)-1)
		if sb := sp.Baseline; sb != nil {
			b := &baseline{topics: sb.Topics, recordsPerSec: sb.RecordsPerSec, recordBytes: sb.RecordBytes, measuredOn: sb.MeasuredOn}
			for _, h := range sb.HWMs {
				b.hwms = append(b.hwms, &consolepb.PartitionOffset{Topic: h.Topic, Partition: h.Partition, Offset: h.Offset})
			}
			t.baselines[pi] = b
		}
	}
	if pi := t.planIndex(sw.Current); pi >= 0 {
		t.cur = pi
	}
	return nil
}

func (t *workflowsTab) planIndex(name string) int {
	for i, p := range t.plans {
		if p.name == name {
			return i
		}
	}
	return -1
}

// DefaultWorkflowFile is where chronik-tui keeps workflow progress unless told otherwise:
// $XDG_STATE_HOME/chronik-tui/workflows.json, else ~/.local/state/chronik-tui/workflows.json.
func DefaultWorkflowFile() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "chronik-tui", "workflows.json")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "chronik-tui", "workflows.json")
	}
	return "chronik-tui-workflows.json"
}
