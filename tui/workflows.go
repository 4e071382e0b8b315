package tui

import (
	"context"
	"fmt"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// Messages of the Workflows tab.
type (
	startStepMsg struct {
		plan, step int
		input      string
	}
	skipStepMsg   struct{ plan, step int }
	resetPlanMsg  struct{ plan int }
	stepResultMsg struct {
		plan, step int
		outcome    stepOutcome
	}
)

// workflowsTab shows the three migration workflows as plans and runs their steps.
type workflowsTab struct {
	st        styles
	keys      workflowKeys
	o         Options
	sess      *session
	plans     []plan
	cur       int
	sel       []int
	state     *consolepb.ClusterState
	baselines []*baseline // per plan: what its validation compares against
	w, h      int
	flash     string
}

func newWorkflowsTab(st styles, o Options) workflowsTab {
	plans := []plan{inPlacePlan(), blueGreenPlan(), freshPlan()}
	t := workflowsTab{st: st, keys: newWorkflowKeys(), o: o, plans: plans, sel: make([]int, len(plans)), baselines: make([]*baseline, len(plans))}
	if err := t.load(); err != nil {
		t.flash = err.Error()
		t.o.Logger.Warn("workflow state not restored", "err", err)
		t.o.WorkflowFile = "" // never overwrite a file we could not read
	} else if t.o.WorkflowFile != "" {
		t.o.Logger.Info("workflow state", "file", t.o.WorkflowFile)
	}
	return t
}

// record applies fn to a copy of plan pi's baseline (steps hold the old one while they run).
func (t *workflowsTab) record(pi int, fn func(*baseline)) {
	b := &baseline{}
	if t.baselines[pi] != nil {
		*b = *t.baselines[pi]
	}
	fn(b)
	t.baselines[pi] = b
}

// persist saves the progress after a change; a failure is shown, the workflow goes on.
func (t *workflowsTab) persist() {
	if err := t.save(); err != nil {
		t.flash = "progress not saved: " + err.Error()
		t.o.Logger.Warn("workflow state not saved", "err", err)
	}
}

func (t *workflowsTab) SetSize(w, h int) { t.w, t.h = w, h }
func (t *workflowsTab) setState(st *consolepb.ClusterState) {
	t.state = st
	t.checkObservers()
}

// defaultObserveTimeout bounds how long a waiting step waits for its condition.
const defaultObserveTimeout = 2 * time.Minute

// checkObservers completes the waiting (kindObserve) steps whose condition the latest state
// satisfies, and fails those that waited longer than their timeout. It runs at every new state
// and every tick: the console reacts to pushed states, it does not poll the node.
func (t *workflowsTab) checkObservers() {
	now := t.o.Now()
	changed := false
	for pi := range t.plans {
		p := &t.plans[pi]
		for si := range p.steps {
			s := &p.steps[si]
			if s.kind != kindObserve || s.status != statusRunning {
				continue
			}
			ok, detail := s.observe(t.state)
			timeout := s.timeout
			if timeout <= 0 {
				timeout = defaultObserveTimeout
			}
			switch {
			case ok:
				s.status, s.summary, s.next, s.took = statusDone, "observed: "+detail, "", now.Sub(s.started)
				if s.observed != nil {
					t.record(pi, s.observed(t.state))
				}
				t.o.Logger.Info("step finished", "workflow", p.name, "step", si+1, "title", s.title, "status", s.status.String(), "summary", s.summary)
				if t.sel[pi] == si && si+1 < len(p.steps) {
					t.sel[pi]++ // move on, as after any success
				}
				changed = true
			case now.Sub(s.started) >= timeout:
				s.status, s.took = statusFailed, now.Sub(s.started)
				s.summary = fmt.Sprintf("not after %s: %s", timeout, detail)
				s.next = "fix what keeps it from happening, then wait again (x) — or skip it (s)"
				changed = true
			default:
				if w := "waiting: " + detail; w != s.summary {
					s.summary = w
				}
			}
		}
	}
	if changed {
		t.persist()
	}
}

func (t workflowsTab) Update(msg tea.Msg) (workflowsTab, tea.Cmd) {
	switch msg := msg.(type) {
	case startStepMsg:
		s := &t.plans[msg.plan].steps[msg.step]
		s.status, s.summary, s.next, s.lines = statusRunning, "", "", nil
		s.input, s.started, s.took = msg.input, t.o.Now(), 0
		t.flash = ""
		t.o.Logger.Info("step started", "workflow", t.plans[msg.plan].name, "step", msg.step+1, "title", s.title, "input", msg.input)
		t.persist()
		return t, t.runCmd(msg.plan, msg.step, msg.input)
	case skipStepMsg:
		s := &t.plans[msg.plan].steps[msg.step]
		s.status, s.summary, s.next, s.lines, s.took = statusSkipped, "skipped by the operator", "", nil, 0
		t.o.Logger.Info("step skipped", "workflow", t.plans[msg.plan].name, "step", msg.step+1, "title", s.title)
		t.persist()
		return t, nil
	case resetPlanMsg:
		fresh := []plan{inPlacePlan(), blueGreenPlan(), freshPlan()}[msg.plan]
		t.plans[msg.plan], t.sel[msg.plan], t.baselines[msg.plan] = fresh, 0, nil
		t.flash = "workflow " + fresh.name + " reset"
		t.o.Logger.Info("workflow reset", "workflow", fresh.name)
		t.persist()
		return t, nil
	case stepResultMsg:
		s := &t.plans[msg.plan].steps[msg.step]
		now := t.o.Now()
		if s.status == statusRunning { // it ran since startStepMsg
			s.took = now.Sub(s.started)
		} else { // a confirmation: nothing ran here
			s.started, s.took = now, 0
		}
		s.status, s.summary, s.next, s.lines = msg.outcome.status, msg.outcome.summary, msg.outcome.next, msg.outcome.lines
		if msg.outcome.record != nil {
			t.record(msg.plan, msg.outcome.record)
		}
		t.o.Logger.Info("step finished", "workflow", t.plans[msg.plan].name, "step", msg.step+1, "title", s.title,
			"status", s.status.String(), "summary", s.summary)
		if s.status == statusDone && msg.plan == t.cur && t.sel[t.cur] == msg.step && msg.step+1 < len(t.plans[msg.plan].steps) {
			t.sel[t.cur]++ // move on to the next step
		}
		t.persist()
		return t, nil
	case tea.KeyMsg:
		return t.handleKey(msg)
	}
	return t, nil
}

func (t workflowsTab) handleKey(k tea.KeyMsg) (workflowsTab, tea.Cmd) {
	p := &t.plans[t.cur]
	switch {
	case key.Matches(k, t.keys.PrevPlan):
		t.cur = (t.cur + len(t.plans) - 1) % len(t.plans)
		t.flash = ""
	case key.Matches(k, t.keys.NextPlan):
		t.cur = (t.cur + 1) % len(t.plans)
		t.flash = ""
	case key.Matches(k, t.keys.Up):
		t.sel[t.cur] = max(0, t.sel[t.cur]-1)
	case key.Matches(k, t.keys.Down):
		t.sel[t.cur] = min(len(p.steps)-1, t.sel[t.cur]+1)
	case key.Matches(k, t.keys.Run):
		return t.requestRun(t.cur, t.sel[t.cur])
	case key.Matches(k, t.keys.Reset):
		pi := t.cur
		for _, s := range p.steps {
			if s.status == statusRunning {
				t.flash = "a step is running: wait for it before resetting"
				return t, nil
			}
		}
		return t, request(confirmRequestMsg{
			Kind:      modalYesNo,
			Title:     fmt.Sprintf("Reset the %s workflow?", p.name),
			Body:      "Every step goes back to pending; the recorded results are forgotten (the cluster is not touched).",
			OnConfirm: func(string) tea.Cmd { return msgCmd(resetPlanMsg{pi}) },
		})
	case key.Matches(k, t.keys.Skip):
		pi, si := t.cur, t.sel[t.cur]
		s := p.steps[si]
		waiting := s.status == statusRunning && s.kind == kindObserve // waiting may be given up
		if !waiting && (s.status == statusRunning || s.status == statusDone || s.status == statusSkipped) {
			t.flash = fmt.Sprintf("step %d is %s", si+1, s.status)
			return t, nil
		}
		return t, request(confirmRequestMsg{
			Kind:      modalYesNo,
			Title:     fmt.Sprintf("Skip step %d: %s?", si+1, s.title),
			Body:      "It will be shown as skipped by the operator, not as done.",
			OnConfirm: func(string) tea.Cmd { return msgCmd(skipStepMsg{pi, si}) },
		})
	}
	return t, nil
}

func request(r confirmRequestMsg) tea.Cmd { return msgCmd(r) }

func msgCmd(m tea.Msg) tea.Cmd { return func() tea.Msg { return m } }

// requestRun checks the order and asks what the step's kind and danger need before starting it.
func (t workflowsTab) requestRun(pi, si int) (workflowsTab, tea.Cmd) {
	p := &t.plans[pi]
	s := &p.steps[si]
	if s.status == statusRunning {
		t.flash = fmt.Sprintf("step %d is already running", si+1)
		return t, nil
	}
	for i := range si {
		if st := p.steps[i].status; st != statusDone && st != statusSkipped {
			t.flash = fmt.Sprintf("run step %d first (or skip it with s)", i+1)
			return t, nil
		}
	}
	t.flash = ""
	switch s.kind {
	case kindObserve: // waits for the live state to satisfy the condition
		s.status, s.summary, s.next, s.lines, s.started, s.took = statusRunning, "waiting", "", nil, t.o.Now(), 0
		t.o.Logger.Info("step started", "workflow", p.name, "step", si+1, "title", s.title)
		t.checkObservers()
		if s.status == statusRunning {
			t.persist()
		}
		return t, nil
	case kindManual:
		body := "The console cannot run this. Confirm that you ran:\n" + s.action
		if s.danger == irreversible {
			return t, request(confirmRequestMsg{Kind: modalTyped, Title: fmt.Sprintf("Step %d: %s", si+1, s.title), Body: body + "\nThis cannot be undone.",
				Expect: t.confirmName(s), OnConfirm: func(string) tea.Cmd { return msgCmd(stepResultMsg{pi, si, manualDone()}) }})
		}
		return t, request(confirmRequestMsg{Kind: modalYesNo, Title: fmt.Sprintf("Step %d: %s — mark as done?", si+1, s.title), Body: body,
			OnConfirm: func(string) tea.Cmd { return msgCmd(stepResultMsg{pi, si, manualDone()}) }})
	}
	start := func(input string) tea.Cmd { return msgCmd(startStepMsg{pi, si, input}) }
	if t.o.ReadOnly && s.danger != safe {
		return t, start("") // the client refuses it; no point in asking
	}
	confirm := func(input string) tea.Cmd {
		title := fmt.Sprintf("Step %d: %s", si+1, s.title)
		body := "Runs: " + s.action
		if input != "" {
			body += "\nValue: " + input
		}
		switch s.danger {
		case destructive:
			return request(confirmRequestMsg{Kind: modalYesNo, Title: title, Body: body, OnConfirm: func(string) tea.Cmd { return start(input) }})
		case irreversible:
			return request(confirmRequestMsg{Kind: modalTyped, Title: title, Body: body + "\n" + s.precondition + "\nThis cannot be undone.",
				Expect: t.confirmName(s), OnConfirm: func(string) tea.Cmd { return start(input) }})
		}
		return start(input)
	}
	if s.inputPrompt != "" {
		return t, request(confirmRequestMsg{Kind: modalInput, Title: fmt.Sprintf("Step %d: %s", si+1, s.title), Body: s.inputPrompt,
			Placeholder: s.placeholder, Default: s.defaultInput, OnConfirm: confirm})
	}
	return t, confirm("")
}

// confirmName is what an irreversible step asks the operator to type: the address of what
// it cannot undo — the blue brokers for a step about blue (as the mirror knows them), otherwise
// the node the console is connected to.
func (t workflowsTab) confirmName(s *step) string {
	if s.aboutBlue {
		if ms := t.state.GetMirrors(); len(ms) > 0 && ms[0].GetSourceBootstrap() != "" {
			return ms[0].GetSourceBootstrap()
		}
	}
	if t.o.Addr != "" {
		return t.o.Addr
	}
	return t.state.GetClusterId()
}

func (t workflowsTab) runCmd(pi, si int, input string) tea.Cmd {
	s := t.plans[pi].steps[si]
	env := stepEnv{state: t.state, input: input, baseline: t.baselines[pi], validationTopic: t.o.ValidationTopic, now: t.o.Now()}
	if t.sess == nil {
		return msgCmd(stepResultMsg{pi, si, stepOutcome{status: statusFailed, summary: "not connected to a node"}})
	}
	env.client = t.sess.client
	parent := t.sess.ctx
	timeout := s.timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, timeout)
		defer cancel()
		return stepResultMsg{pi, si, s.run(ctx, env)}
	}
}
