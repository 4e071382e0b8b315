package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/table"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// historyLen is how many produce-rate samples a partition's sparkline keeps.
const historyLen = 30

type partKey struct {
	topic     string
	partition int32
}

// partitionsTab is the high-watermark table with rates, a trend sparkline and a topic filter.
type partitionsTab struct {
	st      styles
	keys    partitionKeys
	table   table.Model
	filter  textinput.Model
	editing bool
	w, h    int
	state   *consolepb.ClusterState
	history map[partKey][]float64
	lastSeq uint64
}

func newPartitionsTab(st styles) partitionsTab {
	ti := textinput.New()
	ti.Prompt = "/"
	ti.Placeholder = "topic substring"
	ti.CharLimit = 200
	ti.Cursor.SetMode(cursor.CursorStatic)
	ts := table.DefaultStyles()
	ts.Selected = st.selected
	t := table.New(table.WithFocused(true), table.WithStyles(ts))
	return partitionsTab{st: st, keys: newPartitionKeys(), table: t, filter: ti, history: map[partKey][]float64{}}
}

// capturing reports whether the filter field takes every key.
func (t partitionsTab) capturing() bool { return t.editing }

func (t *partitionsTab) SetSize(w, h int) {
	t.w, t.h = w, h
	t.filter.Width = max(10, w-4)
	t.layout()
}

func (t *partitionsTab) setState(st *consolepb.ClusterState) {
	t.state = st
	if !st.GetHeartbeat() && st.GetSequence() != t.lastSeq {
		t.lastSeq = st.GetSequence()
		seen := map[partKey]bool{}
		for _, tp := range st.GetTopics() {
			for _, p := range tp.GetPartitions() {
				k := partKey{tp.GetName(), p.GetPartition()}
				seen[k] = true
				h := append(t.history[k], p.GetProduceRate())
				if len(h) > historyLen {
					h = h[len(h)-historyLen:]
				}
				t.history[k] = h
			}
		}
		for k := range t.history {
			if !seen[k] {
				delete(t.history, k)
			}
		}
	}
	t.refresh()
}

// Column indexes of the table.
const (
	colTopic = iota
	colPart
	colHWM
	colStart
	colLeader
	colProduce
	colConsume
	colTrend
)

// columns: fixed-width columns that fit in the tab's width (each cell adds 2 cells of padding);
// the topic column takes what is left, the trend gets more room on wide screens, and the
// least important columns shrink to nothing on narrow ones.
func (t *partitionsTab) columns() []table.Column {
	widths := [...]int{colTopic: 8, colPart: 4, colHWM: 10, colStart: 10, colLeader: 6, colProduce: 9, colConsume: 9, colTrend: 8}
	total := func() int {
		n := 0
		for _, w := range widths {
			if w > 0 {
				n += w + 2
			}
		}
		return n
	}
	for _, drop := range []int{colTrend, colStart, colLeader, colConsume} {
		if total() <= t.w {
			break
		}
		widths[drop] = 0
	}
	if extra := t.w - total(); extra > 0 {
		if widths[colTrend] > 0 {
			grow := min(extra/3, historyLen-widths[colTrend])
			widths[colTrend] += grow
			extra -= grow
		}
		widths[colTopic] += extra
	}
	titles := [...]string{colTopic: "TOPIC", colPart: "PART", colHWM: "HWM", colStart: "LOG START", colLeader: "LEADER",
		colProduce: "PRODUCE/s", colConsume: "CONSUME/s", colTrend: "TREND"}
	cols := make([]table.Column, len(titles))
	for i := range titles {
		cols[i] = table.Column{Title: titles[i], Width: widths[i]}
	}
	return cols
}

func (t *partitionsTab) layout() {
	cols := t.columns()
	t.table.SetColumns(cols)
	t.table.SetWidth(t.w)
	// Body: filter line, summary line, then the table (header included).
	t.table.SetHeight(max(2, t.h-2))
	t.refresh()
}

func (t *partitionsTab) refresh() {
	cols := t.table.Columns()
	if len(cols) == 0 {
		return
	}
	var rows []table.Row
	f := strings.ToLower(t.filter.Value())
	for _, tp := range t.state.GetTopics() {
		if f != "" && !strings.Contains(strings.ToLower(tp.GetName()), f) {
			continue
		}
		for _, p := range tp.GetPartitions() {
			rows = append(rows, table.Row{
				colTopic:   tp.GetName(),
				colPart:    fmt.Sprint(p.GetPartition()),
				colHWM:     padLeft(offset(p.GetHighWatermark()), cols[colHWM].Width),
				colStart:   padLeft(offset(p.GetLogStartOffset()), cols[colStart].Width),
				colLeader:  leaderName(p.GetLeaderId()),
				colProduce: padLeft(rate(p.GetProduceRate()), cols[colProduce].Width),
				colConsume: padLeft(rate(p.GetConsumeRate()), cols[colConsume].Width),
				colTrend:   sparkline(t.history[partKey{tp.GetName(), p.GetPartition()}], cols[colTrend].Width),
			})
		}
	}
	t.table.SetRows(rows)
	if c := t.table.Cursor(); c >= len(rows) && len(rows) > 0 {
		t.table.SetCursor(len(rows) - 1)
	}
}

func (t partitionsTab) Update(msg tea.Msg) (partitionsTab, tea.Cmd) {
	var cmd tea.Cmd
	if k, ok := msg.(tea.KeyMsg); ok {
		if t.editing {
			switch {
			case key.Matches(k, t.keys.Apply):
				t.editing = false
				t.filter.Blur()
				t.table.Focus()
				return t, nil
			case key.Matches(k, t.keys.ClearFilter):
				t.editing = false
				t.filter.Blur()
				t.filter.SetValue("")
				t.table.Focus()
				t.refresh()
				return t, nil
			}
			t.filter, cmd = t.filter.Update(msg)
			t.refresh()
			return t, cmd
		}
		switch {
		case key.Matches(k, t.keys.Filter):
			t.editing = true
			t.table.Blur()
			return t, t.filter.Focus()
		case key.Matches(k, t.keys.ClearFilter):
			t.filter.SetValue("")
			t.refresh()
			return t, nil
		}
		t.table, cmd = t.table.Update(msg)
		return t, cmd
	}
	if t.editing {
		t.filter, cmd = t.filter.Update(msg)
	}
	return t, cmd
}

func (t partitionsTab) View() string {
	var filter string
	switch {
	case t.editing:
		filter = t.filter.View()
	case t.filter.Value() != "":
		filter = fmt.Sprintf("filter: %q (/ to edit, esc to clear)", t.filter.Value())
	default:
		filter = t.st.dim.Render("/ to filter topics")
	}
	var parts, shown int
	for _, tp := range t.state.GetTopics() {
		parts += len(tp.GetPartitions())
	}
	shown = len(t.table.Rows())
	summary := fmt.Sprintf("%d of %d partitions · records/s: produce from high-watermark deltas, consume from committed offsets", shown, parts)
	if t.state == nil {
		summary = t.st.dim.Render("waiting for the first cluster state…")
	}
	return truncate(filter, t.w) + "\n" + truncate(summary, t.w) + "\n" + t.table.View()
}

// offset shows -1 (no replica on the answering node) as "?".
func offset(o int64) string {
	if o < 0 {
		return "?"
	}
	return fmt.Sprint(o)
}

func leaderName(id uint64) string {
	if id == 0 {
		return "none"
	}
	return fmt.Sprint(id)
}
