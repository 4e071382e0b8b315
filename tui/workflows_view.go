package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
)

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
