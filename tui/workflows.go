package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chronik-stream/chronik/api/consolepb"
)

type stepKind int

const (
	kindRPC     stepKind = iota // the console calls an RPC
	kindLocal                   // the console computes something itself (baseline)
	kindManual                  // the operator runs a command; the console records their confirmation
	kindObserve                 // done when the live cluster state satisfies a condition
)

func (k stepKind) verb() string {
	switch k {
	case kindRPC:
		return "Runs"
	case kindLocal:
		return "Does"
	case kindManual:
		return "Operator runs"
	case kindObserve:
		return "Waits for"
	}
	return "?"
}

type danger int

const (
	safe         danger = iota
	destructive         // y/n
	irreversible        // typed name
)

type stepStatus int

const (
	statusPending stepStatus = iota
	statusRunning
	statusDone
	statusFailed
	statusBlocked // the node cannot do it (UNIMPLEMENTED) or read-only mode kept it from being sent
	statusSkipped
)

func (s stepStatus) String() string {
	switch s {
	case statusPending:
		return "pending"
	case statusRunning:
		return "running…"
	case statusDone:
		return "done"
	case statusFailed:
		return "FAILED"
	case statusBlocked:
		return "BLOCKED"
	case statusSkipped:
		return "skipped"
	}
	return "?"
}

// baseline is what the in-place and blue-green paths compare against after the migration.
type baseline struct {
	topics []string
	hwms   []*consolepb.PartitionOffset
	// Produce throughput measured before the migration (0 = not measured).
	recordsPerSec float64
	recordBytes   uint32
	measuredOn    string
}

// stepEnv is what a running step may use.
type stepEnv struct {
	client          *Client
	state           *consolepb.ClusterState
	input           string
	baseline        *baseline
	validationTopic string
	now             time.Time
}

type stepOutcome struct {
	status  stepStatus
	summary string
	next    string // what to do now (failed and blocked steps)
	lines   []string
	record  func(*baseline) // records into the baseline (the baseline steps)
}

// step is one step of a workflow plan.
type step struct {
	title        string
	precondition string
	action       string // the RPC or the operator's command
	kind         stepKind
	danger       danger
	inputPrompt  string // ask for a value first ("" = none)
	placeholder  string
	defaultInput string // the value of an empty answer ("" = an answer is required)
	timeout      time.Duration
	run          func(ctx context.Context, env stepEnv) stepOutcome        // kindRPC, kindLocal
	observe      func(st *consolepb.ClusterState) (ok bool, detail string) // kindObserve
	// observed (optional) records into the baseline from the state that satisfied observe.
	observed func(st *consolepb.ClusterState) func(*baseline)
	// aboutBlue: an irreversible step about the blue cluster asks for blue's address.
	aboutBlue bool

	status  stepStatus
	summary string
	next    string
	lines   []string
	input   string        // the value the step last ran with
	started time.Time     // when it last started
	took    time.Duration // how long its last run took
}

// plan is one of the guide's workflows.
type plan struct {
	name    string
	summary string
	steps   []step
}

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

// confirmWhat names what confirmName asks for, for the step's description.
func (s *step) confirmWhat() string {
	if s.aboutBlue {
		return "the blue brokers' address"
	}
	return "the address of the node the console is connected to"
}

func manualDone() stepOutcome {
	return stepOutcome{status: statusDone, summary: "done (confirmed by the operator; the console did not run it)"}
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

// failure turns an RPC error into an outcome: UNIMPLEMENTED and read-only are "blocked", never done.
func failure(err error) stepOutcome {
	if errors.Is(err, ErrReadOnly) {
		return stepOutcome{status: statusBlocked, summary: "read-only mode: not sent to the node",
			next: "restart chronik-tui without --read-only (and with --token) to run it"}
	}
	st := status.Convert(err)
	o := stepOutcome{status: statusFailed, summary: st.Code().String(), lines: []string{st.Message()},
		next: "fix the cause above, then run the step again (x) or skip it (s)"}
	switch st.Code() {
	case codes.Unimplemented:
		o.status, o.summary = statusBlocked, "blocked: this node cannot do it (UNIMPLEMENTED)"
		o.next = "run the step's command by hand, then skip the step (s)"
	case codes.Unauthenticated:
		o.summary, o.next = "UNAUTHENTICATED: start chronik-tui with --token", "restart chronik-tui with --token <the node's admin_token>"
	case codes.Unavailable:
		o.summary, o.next = "node unreachable", "check that the node runs; the console reconnects by itself, then run the step again (x)"
	case codes.DeadlineExceeded, codes.Canceled:
		o.summary, o.next = "no answer in time", "check the node's log (journalctl -u chronik), then run the step again (x)"
	}
	return o
}

// checksOutcome: failed when any check fails.
func checksOutcome(what string, checks []*consolepb.Check) stepOutcome {
	counts := map[consolepb.CheckStatus]int{}
	var lines []string
	for _, c := range checks {
		counts[c.GetStatus()]++
		lines = append(lines, fmt.Sprintf("%s %s — %s", checkMark(c.GetStatus()), c.GetName(), c.GetDetail()))
	}
	o := stepOutcome{status: statusDone, lines: lines}
	if counts[consolepb.CheckStatus_CHECK_STATUS_FAIL] > 0 {
		o.status = statusFailed
		o.next = "fix what the FAIL lines name, then run the step again (x)"
	}
	o.summary = fmt.Sprintf("%s: %d pass, %d warn, %d fail, %d skipped", what,
		counts[consolepb.CheckStatus_CHECK_STATUS_PASS], counts[consolepb.CheckStatus_CHECK_STATUS_WARN],
		counts[consolepb.CheckStatus_CHECK_STATUS_FAIL], counts[consolepb.CheckStatus_CHECK_STATUS_SKIP])
	return o
}

// View shows the workflow's steps and the selected step's details. When the tab is too short
// for everything, the step list becomes a window around the selection (at least three rows)
// and the step's result lines are cut with a note; the header, the precondition, the action
// and the result always show.
func (t workflowsTab) View() string {
	p := t.plans[t.cur]
	sel := t.sel[t.cur]
	var names []string
	for i, q := range t.plans {
		if i == t.cur {
			names = append(names, t.st.tabActive.Render("["+q.name+"]"))
		} else {
			names = append(names, " "+q.name+" ")
		}
	}
	head := []string{"Workflow: " + strings.Join(names, " ")}
	head = append(head, splitLines(t.st.dim.Width(max(10, t.w)).Render(p.summary))...)

	s := p.steps[sel]
	wrap := lipgloss.NewStyle().Width(max(10, t.w))
	detail := []string{"", t.st.bold.Render(truncate(fmt.Sprintf("Step %d: %s", sel+1, s.title), t.w))}
	detail = append(detail, splitLines(wrap.Render("Precondition: "+s.precondition))...)
	for i, l := range strings.Split(s.action, "\n") {
		if i == 0 {
			l = s.kind.verb() + ": " + l
		} else {
			l = "  " + l
		}
		detail = append(detail, truncate(l, t.w))
	}
	switch s.danger {
	case destructive:
		detail = append(detail, t.st.warn.Render("Asks y/n before running."))
	case irreversible:
		detail = append(detail, t.st.bad.Render("Irreversible: asks you to type "+s.confirmWhat()+"."))
	}
	if s.input != "" {
		detail = append(detail, truncate("Value: "+s.input, t.w))
	}
	res := s.status.String()
	if d := stepDuration(s); d != "" {
		res += " in " + d
	}
	if s.summary != "" {
		res += " — " + s.summary
	}
	line := "Result: " + res
	switch s.status {
	case statusFailed, statusBlocked:
		line = t.st.bad.Render(line)
	case statusDone:
		line = t.st.ok.Render(line)
	}
	detail = append(detail, splitLines(wrap.Render(line))...)
	if s.next != "" && (s.status == statusFailed || s.status == statusBlocked) {
		detail = append(detail, splitLines(t.st.warn.Render(wrap.Render("Next: "+s.next)))...)
	}
	var outcome []string
	for _, l := range s.lines {
		outcome = append(outcome, splitLines(wrap.Render("  "+l))...)
	}

	// Fit: the list gets what the details leave (at least three rows), then the outcome lines.
	listN, outN := len(p.steps), len(outcome)
	if t.h > 0 {
		avail := t.h - len(head) - 1 - len(detail)
		listN = min(len(p.steps), max(min(3, len(p.steps)), avail-len(outcome)))
		outN = min(len(outcome), max(0, avail-listN))
	}
	first := min(max(0, sel-listN/2), len(p.steps)-listN)

	var b strings.Builder
	for _, l := range head {
		b.WriteString(l + "\n")
	}
	const numW, statusW, tookW = 4, 10, 8
	titleW := max(10, t.w-numW-statusW-tookW-2)
	stepHdr := "STEP"
	if listN < len(p.steps) {
		stepHdr = fmt.Sprintf("STEP (%d–%d of %d)", first+1, first+listN, len(p.steps))
	}
	b.WriteString(t.st.header.Render("  "+pad("#", numW)+pad(stepHdr, titleW)+pad("STATUS", statusW)+pad("TOOK", tookW)) + "\n")
	for i := first; i < first+listN; i++ {
		st := p.steps[i]
		cursor := "  "
		if i == sel {
			cursor = "> "
		}
		row := cursor + pad(fmt.Sprint(i+1), numW) + pad(st.title, titleW) + pad(st.status.String(), statusW) + pad(stepDuration(st), tookW)
		switch {
		case i == sel:
			row = t.st.selected.Render(row)
		case st.status == statusFailed || st.status == statusBlocked:
			row = t.st.bad.Render(row)
		case st.status == statusDone:
			row = t.st.ok.Render(row)
		}
		b.WriteString(row + "\n")
	}
	for _, l := range detail {
		b.WriteString(l + "\n")
	}
	if outN < len(outcome) {
		if outN > 0 {
			outcome = append(outcome[:outN-1], t.st.dim.Render(truncate(fmt.Sprintf("  … %d more lines: enlarge the window", len(outcome)-outN+1), t.w)))
		} else {
			outcome = nil
		}
	}
	for _, l := range outcome {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// splitLines splits rendered text into its lines.
func splitLines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

// stepDuration is how long the step's last run took ("" when it did not run here).
func stepDuration(s step) string {
	switch {
	case s.status == statusRunning || s.started.IsZero() || s.took <= 0:
		return ""
	case s.took < time.Second:
		return fmt.Sprintf("%dms", s.took.Milliseconds())
	case s.took < time.Minute:
		return fmt.Sprintf("%.1fs", s.took.Seconds())
	}
	return s.took.Round(time.Second).String()
}
