package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/progress"
	"github.com/charmbracelet/lipgloss"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// migrationTab shows the WAL migration progress of every node as deterministic progress bars
// (ViewAs, never the animated path).
type migrationTab struct {
	st    styles
	w, h  int
	bar   progress.Model
	state *consolepb.ClusterState
}

func newMigrationTab(st styles) migrationTab {
	bar := progress.New(progress.WithSolidFill("39"), progress.WithColorProfile(lipgloss.ColorProfile()))
	return migrationTab{st: st, bar: bar}
}

func (t *migrationTab) SetSize(w, h int)                    { t.w, t.h = w, h }
func (t *migrationTab) setState(st *consolepb.ClusterState) { t.state = st }

func (t migrationTab) View() string {
	if t.state == nil {
		return t.st.dim.Render("waiting for the first cluster state…")
	}
	nodes := slices.Clone(t.state.GetMigration())
	if len(nodes) == 0 {
		return "No migration information from this node."
	}
	slices.SortFunc(nodes, func(a, b *consolepb.MigrationNode) int { return int(a.GetNodeId()) - int(b.GetNodeId()) })
	var b strings.Builder
	b.WriteString(t.st.bold.Render("WAL format migration (V2 → V3), segments per node") + "\n\n")
	const labelW = 9 // "node 12  "
	for _, n := range nodes {
		counts := fmt.Sprintf(" %d/%d V3 · %s", n.GetSegmentsV3(), n.GetSegmentsTotal(), n.GetState())
		bar := t.bar
		// The bar (with its " 38%") gets what the label and the counts leave, at least 10 cells.
		bar.Width = max(10, min(60, t.w-labelW-len([]rune(counts))))
		pct := 1.0
		if n.GetSegmentsTotal() > 0 {
			pct = float64(n.GetSegmentsV3()) / float64(n.GetSegmentsTotal())
		}
		b.WriteString(pad(fmt.Sprintf("node %d", n.GetNodeId()), labelW) + bar.ViewAs(pct) + counts + "\n")
		if d := n.GetDetail(); d != "" {
			b.WriteString(strings.Repeat(" ", labelW) + t.st.dim.Render(truncate(d, max(10, t.w-labelW))) + "\n")
		}
		b.WriteString("\n")
	}
	b.WriteString(t.st.dim.Render(truncate("A node converts V2 segments when it starts with wal_format = 3 (`chronik-server cluster --migrate-wal`),"+
		" while it runs (Workflows: in-place) or offline (`chronik-server migrate-wal`).", t.w)))
	if ms := t.state.GetMirrors(); len(ms) > 0 {
		b.WriteString("\n\n" + t.mirrorsView(ms))
	}
	return b.String()
}

// mirrorsView shows each mirror with a bar of the records mirrored over what blue holds.
func (t migrationTab) mirrorsView(ms []*consolepb.MirrorState) string {
	var b strings.Builder
	b.WriteString(t.st.bold.Render("Mirrors (blue → this cluster)") + "\n\n")
	const labelW = 12
	for _, m := range ms {
		var done, total int64
		for _, p := range m.GetPartitions() {
			if p.GetSourceHighWatermark() >= 0 {
				total += p.GetSourceHighWatermark() - max(0, p.GetSourceLogStart())
				done += p.GetNextSourceOffset() - max(0, p.GetSourceLogStart())
			}
		}
		pct := 1.0
		if total > 0 {
			pct = min(1, float64(done)/float64(total))
		}
		counts := fmt.Sprintf(" lag %d · %s", m.GetLag(), m.GetState())
		bar := t.bar
		bar.Width = max(10, min(60, t.w-labelW-len([]rune(counts))))
		b.WriteString(pad(truncate(m.GetMirrorId(), labelW-1), labelW) + bar.ViewAs(pct) + counts + "\n")
		info := fmt.Sprintf("from %s · %d records mirrored · %s · groups %d", m.GetSourceBootstrap(), m.GetRecords(),
			plural(len(m.GetPartitions()), "partition"), m.GetGroups())
		b.WriteString(strings.Repeat(" ", labelW) + t.st.dim.Render(truncate(info, max(10, t.w-labelW))) + "\n")
		if e := m.GetError(); e != "" {
			b.WriteString(strings.Repeat(" ", labelW) + t.st.bad.Render(truncate(e, max(10, t.w-labelW))) + "\n")
		}
	}
	return b.String()
}
