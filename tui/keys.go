package tui

import (
	"github.com/charmbracelet/bubbles/key"
)

// globalKeys work on every tab (unless a modal is open or a text field is capturing keys).
// None of them is bound by bubbles' table or viewport (j/k/up/down, b/pgup, f/pgdown/space,
// u, d, g/G, h/l, home/end), see keys_test.go.
type globalKeys struct {
	Quit, Help, NextTab, PrevTab, Reconnect key.Binding
	Tabs                                    [numTabs]key.Binding
}

func newGlobalKeys() globalKeys {
	k := globalKeys{
		Quit:      key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		NextTab:   key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next tab")),
		PrevTab:   key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "prev tab")),
		Reconnect: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reconnect now")),
	}
	for i := range numTabs {
		n := string(rune('1' + i))
		k.Tabs[i] = key.NewBinding(key.WithKeys(n), key.WithHelp(n, tab(i).String()))
	}
	return k
}

// partitionKeys are the Partitions tab's own keys (the table adds its navigation).
type partitionKeys struct {
	Filter, ClearFilter, Apply key.Binding
}

func newPartitionKeys() partitionKeys {
	return partitionKeys{
		Filter:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter topics")),
		ClearFilter: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),
		Apply:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "apply filter")),
	}
}

// workflowKeys drive the Workflows tab. Destructive actions are never on d or space.
type workflowKeys struct {
	PrevPlan, NextPlan, Up, Down, Run, Skip, Reset key.Binding
}

func newWorkflowKeys() workflowKeys {
	return workflowKeys{
		PrevPlan: key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "prev workflow")),
		NextPlan: key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "next workflow")),
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "prev step")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "next step")),
		Run:      key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "run step")),
		Skip:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "skip step")),
		Reset:    key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "reset workflow")),
	}
}

// modalKeys answer a confirmation.
type modalKeys struct {
	Yes, No, Submit, Cancel key.Binding
}

func newModalKeys() modalKeys {
	return modalKeys{
		Yes:    key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		No:     key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n/esc", "no")),
		Submit: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "confirm")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}
