package tui

import "github.com/charmbracelet/lipgloss"

// styles of the console. Colours degrade to nothing on an ASCII terminal (and in goldens).
type styles struct {
	title, tabActive, tab, dim, bold, ok, warn, bad, header, footer, modal, selected lipgloss.Style
}

func newStyles() styles {
	return styles{
		title:     lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("39")),
		tabActive: lipgloss.NewStyle().Bold(true).Reverse(true),
		tab:       lipgloss.NewStyle().Foreground(lipgloss.Color("245")),
		dim:       lipgloss.NewStyle().Foreground(lipgloss.Color("245")),
		bold:      lipgloss.NewStyle().Bold(true),
		ok:        lipgloss.NewStyle().Foreground(lipgloss.Color("42")),
		warn:      lipgloss.NewStyle().Foreground(lipgloss.Color("214")),
		bad:       lipgloss.NewStyle().Foreground(lipgloss.Color("196")).Bold(true),
		header:    lipgloss.NewStyle().Bold(true),
		footer:    lipgloss.NewStyle().Foreground(lipgloss.Color("245")),
		modal:     lipgloss.NewStyle().Border(lipgloss.NormalBorder()).Padding(0, 1),
		selected:  lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("212")),
	}
}
