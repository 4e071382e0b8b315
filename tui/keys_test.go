package tui

import (
	"testing"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/table"
	"github.com/charmbracelet/bubbles/viewport"
)

func keysOf(bs ...key.Binding) map[string]string {
	m := map[string]string{}
	for _, b := range bs {
		for _, k := range b.Keys() {
			m[k] = b.Help().Desc
		}
	}
	return m
}

// TestGlobalKeysDoNotClash: no global key is bound by the table, the viewport or a tab's own keys.
func TestGlobalKeysDoNotClash(t *testing.T) {
	g := newGlobalKeys()
	global := keysOf(append([]key.Binding{g.Quit, g.Help, g.NextTab, g.PrevTab, g.Reconnect}, g.Tabs[:]...)...)
	tk := table.DefaultKeyMap()
	vk := viewport.DefaultKeyMap()
	wk := newWorkflowKeys()
	pk := newPartitionKeys()
	others := map[string]map[string]string{
		"table":      keysOf(tk.LineUp, tk.LineDown, tk.PageUp, tk.PageDown, tk.HalfPageUp, tk.HalfPageDown, tk.GotoTop, tk.GotoBottom),
		"viewport":   keysOf(vk.Up, vk.Down, vk.PageUp, vk.PageDown, vk.HalfPageUp, vk.HalfPageDown, vk.Left, vk.Right),
		"workflows":  keysOf(wk.PrevPlan, wk.NextPlan, wk.Up, wk.Down, wk.Run, wk.Skip, wk.Reset),
		"partitions": keysOf(pk.Filter, pk.ClearFilter, pk.Apply),
	}
	for name, ks := range others {
		for k, desc := range ks {
			if g, ok := global[k]; ok {
				t.Errorf("key %q is global (%s) and bound by %s (%s)", k, g, name, desc)
			}
		}
	}
	// Workflow actions must not sit on keys the table uses for paging (d, space).
	for _, k := range append(append(wk.Run.Keys(), wk.Skip.Keys()...), wk.Reset.Keys()...) {
		if k == "d" || k == " " {
			t.Errorf("workflow action on %q", k)
		}
	}
}
