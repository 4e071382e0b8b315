package tui

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// tab is one of the console's tabs.
type tab int

const (
	tabOverview tab = iota
	tabPartitions
	tabMigration
	tabWorkflows
	tabEvents
	numTabs
)

func (t tab) String() string {
	switch t {
	case tabOverview:
		return "Overview"
	case tabPartitions:
		return "Partitions"
	case tabMigration:
		return "Migration"
	case tabWorkflows:
		return "Workflows"
	case tabEvents:
		return "Events"
	}
	return "?"
}

// Options configure a Model. Zero values take the defaults in brackets.
type Options struct {
	Addr     string  // shown in the header
	Client   *Client // nil: no connection (tests feed messages)
	ReadOnly bool    // shown in the header; enforced by Client
	Logger   *slog.Logger
	Now      func() time.Time
	Location *time.Location // for event times [time.Local]
	// TickInterval refreshes "updated Ns ago" [1s]; negative disables ticks (tests).
	TickInterval time.Duration
	// Heartbeat is the server's heartbeat interval [2s]; a stream silent for 3 of them is dead.
	Heartbeat time.Duration
	// BackoffMin and BackoffMax bound the reconnect delay [250ms, 10s].
	BackoffMin, BackoffMax time.Duration
	// ValidationTopic is where the Validate steps produce and consume one record
	// ["chronik-validation"]; sent only with a token and not in read-only mode.
	ValidationTopic string
	// WorkflowFile keeps the workflows' progress across restarts ("" = not kept).
	WorkflowFile string
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.TickInterval == 0 {
		o.TickInterval = time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 2 * time.Second
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = 250 * time.Millisecond
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 10 * time.Second
	}
	if o.ValidationTopic == "" {
		o.ValidationTopic = "chronik-validation"
	}
	if o.Client != nil {
		o.ReadOnly = o.Client.ReadOnly()
	}
}

type connStatus int

const (
	connIdle connStatus = iota // no client
	connConnecting
	connLive
	connDown
)

type connState struct {
	status   connStatus
	gen      int
	err      error
	attempts int // failures since the last good state
	retryIn  time.Duration
	since    time.Time // of the current status
}

// tickMsg refreshes time-dependent text.
type tickMsg time.Time

// Model is the root of the console.
type Model struct {
	o     Options
	sess  *session
	keys  globalKeys
	st    styles
	help  help.Model
	full  bool // full help shown
	width int
	hgt   int
	tab   tab

	conn       connState
	state      *consolepb.ClusterState
	lastUpdate time.Time

	overview  overviewTab
	parts     partitionsTab
	migration migrationTab
	flows     workflowsTab
	events    eventsTab

	modal *modal
	flash string
}

// New builds the console. Call Close on the final model after the program ends.
func New(o Options) Model {
	o.defaults()
	st := newStyles()
	m := Model{
		o:         o,
		keys:      newGlobalKeys(),
		st:        st,
		help:      help.New(),
		overview:  newOverviewTab(st),
		parts:     newPartitionsTab(st),
		migration: newMigrationTab(st),
		flows:     newWorkflowsTab(st, o),
		events:    newEventsTab(st, o.Location),
		width:     80,
		hgt:       24,
	}
	if o.Client != nil {
		m.sess = newSession(o.Client, 3*o.Heartbeat, o.Now)
		m.flows.sess = m.sess
	}
	m.resize()
	return m
}

// Close stops the stream and cancels running calls, waiting for the stream goroutine.
func (m Model) Close() {
	if m.sess != nil {
		m.sess.close()
	}
}

// Init starts the stream and the tick.
func (m Model) Init() tea.Cmd {
	var cmds []tea.Cmd
	if m.sess != nil {
		cmds = append(cmds, func() tea.Msg { return reconnectMsg{gen: 0} })
	}
	if m.o.TickInterval > 0 {
		cmds = append(cmds, m.tick())
	}
	return tea.Batch(cmds...)
}

func (m Model) tick() tea.Cmd {
	return tea.Tick(m.o.TickInterval, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// connect (re)starts the stream.
func (m Model) connect() (Model, tea.Cmd) {
	gen, cmd := m.sess.connect()
	m.conn.gen = gen
	m.conn.status = connConnecting
	m.conn.since = m.o.Now()
	m.o.Logger.Info("connecting", "addr", m.o.Addr, "attempt", m.conn.attempts+1)
	return m, cmd
}

// Update implements tea.Model.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.hgt = msg.Width, msg.Height
		m.resize()
		return m, nil
	case tickMsg:
		m.flows.checkObservers() // time-outs of waiting steps
		return m, m.tick()
	case reconnectMsg:
		if m.sess == nil || msg.gen != m.conn.gen {
			return m, nil
		}
		return m.connect()
	case stateMsg:
		if msg.gen != m.conn.gen {
			return m, nil
		}
		m.applyState(msg.state, msg.at)
		var next tea.Cmd
		if m.sess != nil {
			next = m.sess.next(msg.gen)
		}
		return m, next
	case streamClosedMsg:
		if msg.gen != m.conn.gen {
			return m, nil
		}
		return m.streamClosed(msg.err)
	case confirmRequestMsg:
		m.modal = newModal(msg, m.st)
		m.modal.setWidth(m.width)
		return m, m.modal.init()
	case stepResultMsg, startStepMsg, skipStepMsg, resetPlanMsg:
		var cmd tea.Cmd
		m.flows, cmd = m.flows.Update(msg)
		return m, cmd
	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste && m.modal == nil && !m.capturing() {
			// Keys typed faster than the terminal is read arrive as one message: take them one by one.
			var cmds []tea.Cmd
			for _, r := range msg.Runes {
				var cmd tea.Cmd
				var next tea.Model
				next, cmd = m.handleKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
				m = next.(Model)
				cmds = append(cmds, cmd)
			}
			return m, tea.Batch(cmds...)
		}
		return m.handleKey(msg)
	}
	// Anything else (cursor blinks …) goes to the modal or the active tab.
	if m.modal != nil {
		var cmd tea.Cmd
		m.modal, cmd = m.modal.update(msg)
		return m, cmd
	}
	return m.updateTab(msg)
}

// SetState feeds a state as if it came from the stream (tests, replays).
func (m Model) SetState(st *consolepb.ClusterState, at time.Time) Model {
	m.applyState(st, at)
	return m
}

func (m *Model) applyState(st *consolepb.ClusterState, at time.Time) {
	if m.conn.status != connLive {
		m.o.Logger.Info("stream live", "addr", m.o.Addr, "node", st.GetNodeId(), "sequence", st.GetSequence())
		m.conn.since = at
	}
	m.conn.status, m.conn.err, m.conn.attempts, m.conn.retryIn = connLive, nil, 0, 0
	m.state, m.lastUpdate = st, at
	m.overview.setState(st)
	m.parts.setState(st)
	m.migration.setState(st)
	m.flows.setState(st)
	m.events.add(st.GetEvents())
}

func (m Model) streamClosed(err error) (tea.Model, tea.Cmd) {
	m.conn.attempts++
	backoff := m.o.BackoffMin
	for i := 1; i < m.conn.attempts && backoff < m.o.BackoffMax; i++ {
		backoff *= 2
	}
	backoff = min(backoff, m.o.BackoffMax)
	m.conn.status, m.conn.err, m.conn.retryIn, m.conn.since = connDown, err, backoff, m.o.Now()
	m.o.Logger.Warn("stream ended", "addr", m.o.Addr, "err", err, "retry_in", backoff)
	gen := m.conn.gen
	return m, tea.Tick(backoff, func(time.Time) tea.Msg { return reconnectMsg{gen: gen} })
}

func (m Model) handleKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	if m.modal != nil {
		var cmd tea.Cmd
		var done bool
		m.modal, cmd, done = m.modal.handleKey(k)
		if done {
			m.modal = nil
		}
		return m, cmd
	}
	if k.String() == "ctrl+c" {
		return m, tea.Quit
	}
	if m.capturing() {
		return m.updateTab(k)
	}
	switch {
	case key.Matches(k, m.keys.Quit):
		m.o.Logger.Info("quit")
		return m, tea.Quit
	case key.Matches(k, m.keys.Help):
		m.full = !m.full
		m.resize()
		return m, nil
	case key.Matches(k, m.keys.NextTab):
		m.tab = (m.tab + 1) % numTabs
		m.resize()
		return m, nil
	case key.Matches(k, m.keys.PrevTab):
		m.tab = (m.tab + numTabs - 1) % numTabs
		m.resize()
		return m, nil
	case key.Matches(k, m.keys.Reconnect):
		if m.sess == nil {
			return m, nil
		}
		m.conn.attempts = 0
		m.o.Logger.Info("manual reconnect")
		return m.connect()
	}
	for i, b := range m.keys.Tabs {
		if key.Matches(k, b) {
			m.tab = tab(i)
			m.resize()
			return m, nil
		}
	}
	return m.updateTab(k)
}

// capturing reports whether the active tab's text field takes every key.
func (m Model) capturing() bool { return m.tab == tabPartitions && m.parts.capturing() }

func (m Model) updateTab(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch m.tab {
	case tabOverview:
	case tabPartitions:
		m.parts, cmd = m.parts.Update(msg)
	case tabMigration:
	case tabWorkflows:
		m.flows, cmd = m.flows.Update(msg)
	case tabEvents:
		m.events, cmd = m.events.Update(msg)
	}
	return m, cmd
}

// resize gives every tab the body size left by the header and footer.
func (m *Model) resize() {
	h := max(1, m.hgt-lipgloss.Height(m.headerView())-lipgloss.Height(m.footerView()))
	w := max(1, m.width)
	m.help.Width = w
	m.overview.SetSize(w, h)
	m.parts.SetSize(w, h)
	m.migration.SetSize(w, h)
	m.flows.SetSize(w, h)
	m.events.SetSize(w, h)
	if m.modal != nil {
		m.modal.setWidth(w)
	}
}

// View implements tea.Model.
func (m Model) View() string {
	header, footer := m.headerView(), m.footerView()
	h := max(1, m.hgt-lipgloss.Height(header)-lipgloss.Height(footer))
	var body string
	if m.modal != nil {
		body = lipgloss.Place(m.width, h, lipgloss.Center, lipgloss.Center, m.modal.view())
	} else {
		switch m.tab {
		case tabOverview:
			body = m.overview.View(m.conn, m.lastUpdate, m.o.Now())
		case tabPartitions:
			body = m.parts.View()
		case tabMigration:
			body = m.migration.View()
		case tabWorkflows:
			body = m.flows.View()
		case tabEvents:
			body = m.events.View()
		}
	}
	body = fit(body, m.width, h)
	return header + "\n" + body + "\n" + footer
}

// fit cuts or pads s to exactly h lines of at most w cells.
func fit(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		lines[i] = truncate(l, w)
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

func (m Model) headerView() string {
	line1 := m.st.title.Render("Chronik console") + "  " + m.connView()
	if m.o.ReadOnly {
		line1 += " · " + m.st.warn.Render("READ-ONLY")
	}
	line2 := m.st.dim.Render("no cluster state yet")
	if st := m.state; st != nil {
		leader := m.st.bad.Render("no leader")
		if st.GetLeaderId() != 0 {
			leader = fmt.Sprintf("leader node %d", st.GetLeaderId())
		}
		line2 = fmt.Sprintf("cluster %s · node %d (%s) · %s · %s", st.GetClusterId(), st.GetNodeId(),
			modeName(st.GetMode()), leader, plural(len(st.GetMembers()), "member"))
	}
	var tabs []string
	for i := range numTabs {
		label := fmt.Sprintf("%d %s", i+1, tab(i))
		if tab(i) == m.tab {
			tabs = append(tabs, m.st.tabActive.Render("["+label+"]"))
		} else {
			tabs = append(tabs, m.st.tab.Render(" "+label+" "))
		}
	}
	return truncate(line1, m.width) + "\n" + truncate(line2, m.width) + "\n" + truncate(strings.Join(tabs, " "), m.width)
}

func (m Model) connView() string {
	now := m.o.Now()
	switch m.conn.status {
	case connIdle:
		if m.state != nil {
			return "updated " + ago(now.Sub(m.lastUpdate))
		}
		return "not connected"
	case connConnecting:
		return "connecting to " + m.o.Addr + "…"
	case connLive:
		s := fmt.Sprintf("● live %s · updated %s (push, heartbeat %s)", m.o.Addr, ago(now.Sub(m.lastUpdate)), m.o.Heartbeat)
		if now.Sub(m.lastUpdate) > 3*m.o.Heartbeat/2 {
			s = m.st.warn.Render(s + " (stale)")
		}
		return s
	case connDown:
		left := m.conn.retryIn - now.Sub(m.conn.since)
		msg := fmt.Sprintf("disconnected from %s: %s · retry in %s", m.o.Addr, errText(m.conn.err), max(0, left).Round(100*time.Millisecond))
		if m.state != nil {
			msg += " · data from " + ago(now.Sub(m.lastUpdate))
		}
		return m.st.bad.Render(msg)
	}
	return ""
}

func errText(err error) string {
	if err == nil {
		return "stream closed"
	}
	s := err.Error()
	if i := strings.Index(s, "desc = "); i >= 0 {
		s = s[i+len("desc = "):]
	}
	return s
}

func (m Model) footerView() string {
	if m.modal != nil {
		return m.st.footer.Render(truncate("answer the prompt · esc cancels", m.width))
	}
	if m.full {
		return m.help.FullHelpView(m.helpGroups())
	}
	line := m.help.ShortHelpView(m.shortHelp())
	if f := m.tabFlash(); f != "" {
		line = f + "  " + line
	}
	return truncate(line, m.width)
}

func (m Model) tabFlash() string {
	if m.tab == tabWorkflows {
		return m.flows.flash
	}
	return ""
}

func (m Model) shortHelp() []key.Binding {
	b := []key.Binding{m.keys.NextTab}
	switch m.tab {
	case tabPartitions:
		pk := newPartitionKeys()
		b = append(b, pk.Filter)
	case tabWorkflows:
		wk := newWorkflowKeys()
		b = append(b, wk.NextPlan, wk.Run, wk.Skip)
	}
	return append(b, m.keys.Reconnect, m.keys.Help, m.keys.Quit)
}

func (m Model) helpGroups() [][]key.Binding {
	tabs := m.keys.Tabs[:]
	groups := [][]key.Binding{
		{m.keys.NextTab, m.keys.PrevTab, m.keys.Reconnect, m.keys.Help, m.keys.Quit},
		tabs,
	}
	switch m.tab {
	case tabPartitions:
		pk := newPartitionKeys()
		groups = append(groups, []key.Binding{pk.Filter, pk.Apply, pk.ClearFilter})
		groups = append(groups, m.parts.table.KeyMap.FullHelp()...)
	case tabWorkflows:
		wk := newWorkflowKeys()
		groups = append(groups, []key.Binding{wk.PrevPlan, wk.NextPlan, wk.Up, wk.Down, wk.Run, wk.Skip, wk.Reset})
	case tabEvents:
		groups = append(groups, m.events.keyHelp())
	}
	return groups
}
