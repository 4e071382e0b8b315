package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

type modalKind int

const (
	modalYesNo modalKind = iota // y / n
	modalTyped                  // type Expect exactly, then enter (irreversible actions)
	modalInput                  // type a value, then enter
)

// confirmRequestMsg asks the root to open a modal. OnConfirm gets the typed value (modalInput)
// and returns the Cmd to run.
type confirmRequestMsg struct {
	Kind        modalKind
	Title       string
	Body        string
	Expect      string // modalTyped
	Placeholder string // modalInput
	Default     string // modalInput: the value of an empty answer ("" = an answer is required)
	OnConfirm   func(value string) tea.Cmd
	OnCancel    tea.Cmd
}

// modal is an open prompt; it swallows every key.
type modal struct {
	req   confirmRequestMsg
	st    styles
	keys  modalKeys
	input textinput.Model
	w     int
	err   string
}

func newModal(req confirmRequestMsg, st styles) *modal {
	m := &modal{req: req, st: st, keys: newModalKeys()}
	if req.Kind != modalYesNo {
		m.input = textinput.New()
		m.input.Placeholder = req.Placeholder
		m.input.Prompt = "> "
		m.input.CharLimit = 200
		m.input.Cursor.SetMode(cursor.CursorStatic) // no blink ticks: steady output, deterministic goldens
	}
	return m
}

func (m *modal) init() tea.Cmd {
	if m.req.Kind != modalYesNo {
		return m.input.Focus()
	}
	return nil
}

func (m *modal) setWidth(w int) {
	m.w = w
	m.input.Width = max(10, min(60, w-10))
}

// handleKey returns the Cmd to run and whether the modal is finished.
func (m *modal) handleKey(k tea.KeyMsg) (*modal, tea.Cmd, bool) {
	if m.req.Kind == modalYesNo {
		switch {
		case key.Matches(k, m.keys.Yes):
			return m, m.req.OnConfirm(""), true
		case key.Matches(k, m.keys.No):
			return m, m.req.OnCancel, true
		}
		return m, nil, false // Enter and everything else do nothing: y/n only
	}
	switch {
	case key.Matches(k, m.keys.Cancel):
		return m, m.req.OnCancel, true
	case key.Matches(k, m.keys.Submit):
		v := strings.TrimSpace(m.input.Value())
		switch {
		case m.req.Kind == modalTyped && v != m.req.Expect:
			m.err = "does not match: type " + m.req.Expect + " exactly, or esc to cancel"
			return m, nil, false
		case m.req.Kind == modalInput && v == "" && m.req.Default != "":
			v = m.req.Default
		case m.req.Kind == modalInput && v == "":
			m.err = "a value is required (esc to cancel)"
			return m, nil, false
		}
		return m, m.req.OnConfirm(v), true
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(k)
	m.err = ""
	return m, cmd, false
}

func (m *modal) update(msg tea.Msg) (*modal, tea.Cmd) {
	if m.req.Kind == modalYesNo {
		return m, nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

func (m *modal) view() string {
	w := max(20, min(72, m.w-4))
	var b strings.Builder
	b.WriteString(m.st.bold.Render(m.req.Title) + "\n\n")
	b.WriteString(m.req.Body + "\n\n") // the box wraps long lines
	switch m.req.Kind {
	case modalYesNo:
		b.WriteString("Proceed? [y/n]")
	case modalTyped:
		b.WriteString("Type " + m.st.bold.Render(m.req.Expect) + " and press enter (esc cancels):\n" + m.input.View())
	case modalInput:
		if m.req.Default != "" {
			b.WriteString("Enter a value and press enter (empty = " + m.req.Default + ", esc cancels):\n" + m.input.View())
		} else {
			b.WriteString("Enter a value and press enter (esc cancels):\n" + m.input.View())
		}
	}
	if m.err != "" {
		b.WriteString("\n" + m.st.bad.Render(m.err))
	}
	return m.st.modal.Width(w).Render(b.String())
}
