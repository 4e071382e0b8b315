package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// maxEvents bounds the events kept by the console.
const maxEvents = 1000

type eventKey struct {
	node, seq uint64
	time      int64
	msg       string
}

// eventsTab is a scrolling log of the node's events; it follows the newest unless scrolled up.
type eventsTab struct {
	st     styles
	loc    *time.Location
	vp     viewport.Model
	w, h   int
	events []*consolepb.Event
	seen   map[eventKey]bool
}

func newEventsTab(st styles, loc *time.Location) eventsTab {
	vp := viewport.New(80, 10)
	return eventsTab{st: st, loc: loc, vp: vp, seen: map[eventKey]bool{}}
}

func (t *eventsTab) SetSize(w, h int) {
	t.w, t.h = w, h
	follow := t.vp.AtBottom()
	t.vp.Width, t.vp.Height = w, max(1, h-1)
	t.render(follow)
}

// add appends events not seen before (a reconnect resends the recent ones).
func (t *eventsTab) add(evs []*consolepb.Event) {
	if len(evs) == 0 {
		return
	}
	follow := t.vp.AtBottom()
	for _, e := range evs {
		k := eventKey{e.GetNodeId(), e.GetSeq(), e.GetTimeUnixMs(), e.GetMessage()}
		if t.seen[k] {
			continue
		}
		t.seen[k] = true
		t.events = append(t.events, e)
	}
	if over := len(t.events) - maxEvents; over > 0 {
		for _, e := range t.events[:over] {
			delete(t.seen, eventKey{e.GetNodeId(), e.GetSeq(), e.GetTimeUnixMs(), e.GetMessage()})
		}
		t.events = append([]*consolepb.Event(nil), t.events[over:]...)
	}
	t.render(follow)
}

func (t *eventsTab) render(follow bool) {
	lines := make([]string, 0, len(t.events))
	for _, e := range t.events {
		ts := time.UnixMilli(e.GetTimeUnixMs()).In(t.loc).Format("15:04:05")
		lvl := fmt.Sprintf("%-5s", levelName(e.GetLevel()))
		switch e.GetLevel() {
		case consolepb.Level_LEVEL_ERROR:
			lvl = t.st.bad.Render(lvl)
		case consolepb.Level_LEVEL_WARN:
			lvl = t.st.warn.Render(lvl)
		}
		lines = append(lines, truncate(fmt.Sprintf("%s %s n%d %s", ts, lvl, e.GetNodeId(), e.GetMessage()), t.w))
	}
	t.vp.SetContent(strings.Join(lines, "\n"))
	if follow {
		t.vp.GotoBottom()
	}
}

func (t eventsTab) Update(msg tea.Msg) (eventsTab, tea.Cmd) {
	var cmd tea.Cmd
	t.vp, cmd = t.vp.Update(msg)
	return t, cmd
}

func (t eventsTab) keyHelp() []key.Binding {
	km := t.vp.KeyMap
	return []key.Binding{km.Up, km.Down, km.PageUp, km.PageDown, km.HalfPageUp, km.HalfPageDown}
}

func (t eventsTab) View() string {
	status := fmt.Sprintf("%d events", len(t.events))
	if !t.vp.AtBottom() {
		status += fmt.Sprintf(" · scrolled (%.0f%%): scroll down to follow", t.vp.ScrollPercent()*100)
	} else {
		status += " · following"
	}
	if len(t.events) == 0 {
		return t.st.dim.Render(status) + "\n" + t.st.dim.Render("no events yet")
	}
	return t.st.dim.Render(status) + "\n" + t.vp.View()
}
