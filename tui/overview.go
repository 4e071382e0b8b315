package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chronik-stream/chronik/api/consolepb"
)

// overviewTab shows the members, the leader, health and totals.
type overviewTab struct {
	st    styles
	w, h  int
	state *consolepb.ClusterState
}

func newOverviewTab(st styles) overviewTab { return overviewTab{st: st} }

func (t *overviewTab) SetSize(w, h int)                    { t.w, t.h = w, h }
func (t *overviewTab) setState(st *consolepb.ClusterState) { t.state = st }

// View renders the tab; conn and the update times make the health line.
func (t overviewTab) View(conn connState, updated, now time.Time) string {
	st := t.state
	if st == nil {
		return t.st.dim.Render("waiting for the first cluster state…")
	}
	var b strings.Builder
	members := slices.Clone(st.GetMembers())
	slices.SortFunc(members, func(a, b *consolepb.Member) int { return int(a.GetId()) - int(b.GetId()) })

	// Columns: fixed ones, the address takes what is left.
	const idW, roleW, termW, contactW, lagW = 4, 12, 6, 13, 6
	rest := max(20, t.w-idW-roleW-termW-contactW-lagW-2)
	addrW := rest / 2
	kafkaW := rest - addrW
	fmt.Fprintf(&b, "%s\n", t.st.bold.Render(fmt.Sprintf("Members (%d)", len(members))))
	b.WriteString(t.st.header.Render(pad("ID", idW)+pad("ADDRESS", addrW)+pad("ROLE", roleW)+pad("TERM", termW)+
		pad("LAST CONTACT", contactW)+pad("LAG", lagW)+pad("KAFKA", kafkaW)) + "\n")
	for _, mem := range members {
		contact := "—" // the node this console watches
		switch {
		case mem.GetId() == st.GetNodeId():
		case mem.GetLastContactMs() < 0:
			contact = "unknown"
		default:
			contact = fmt.Sprintf("%dms", mem.GetLastContactMs())
		}
		lag := "—"
		if mem.GetReplicationLag() > 0 || (mem.GetReplicationLag() == 0 && mem.GetId() != st.GetLeaderId()) {
			lag = fmt.Sprint(mem.GetReplicationLag())
		} else if mem.GetReplicationLag() < 0 {
			lag = "?"
		}
		role := roleName(mem.GetRole())
		if !mem.GetVoter() && mem.GetRole() != consolepb.Role_ROLE_NONVOTER {
			role += "*"
		}
		line := pad(fmt.Sprint(mem.GetId()), idW) + pad(mem.GetAddress(), addrW) + pad(role, roleW) +
			pad(fmt.Sprint(mem.GetTerm()), termW) + pad(contact, contactW) + pad(lag, lagW) + pad(mem.GetKafkaAddress(), kafkaW)
		b.WriteString(line + "\n")
	}
	b.WriteString("\n")

	leader := "none"
	for _, mem := range members {
		if mem.GetId() == st.GetLeaderId() {
			leader = fmt.Sprintf("node %d (%s)", mem.GetId(), mem.GetAddress())
		}
	}
	fmt.Fprintf(&b, "Leader:  %s\n", leader)
	fmt.Fprintf(&b, "Health:  %s\n", t.health(conn, updated, now))

	var topics, partitions int
	var prod, cons float64
	for _, tp := range st.GetTopics() {
		topics++
		for _, p := range tp.GetPartitions() {
			partitions++
			prod += p.GetProduceRate()
			cons += p.GetConsumeRate()
		}
	}
	fmt.Fprintf(&b, "Topics:  %s, %s\n", plural(topics, "topic"), plural(partitions, "partition"))
	fmt.Fprintf(&b, "Rates:   produce %s rec/s · consume %s rec/s (committed offsets)\n", rate(prod), rate(cons))
	var groups []string
	for _, k := range slices.Sorted(mapKeys(st.GetGroupsByState())) {
		groups = append(groups, fmt.Sprintf("%s %d", k, st.GetGroupsByState()[k]))
	}
	if len(groups) == 0 {
		groups = []string{"none"}
	}
	fmt.Fprintf(&b, "Groups:  %s\n", strings.Join(groups, " · "))
	return b.String()
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// health summarises what the console sees: connection freshness, leader, member roles.
func (t overviewTab) health(conn connState, updated, now time.Time) string {
	st := t.state
	var problems []string
	if conn.status == connDown {
		problems = append(problems, "console disconnected")
	} else if conn.status == connLive && now.Sub(updated) > 6*time.Second {
		problems = append(problems, fmt.Sprintf("no update for %s", now.Sub(updated).Round(time.Second)))
	}
	if st.GetLeaderId() == 0 {
		problems = append(problems, "no leader")
	}
	for _, mem := range st.GetMembers() {
		switch mem.GetRole() {
		case consolepb.Role_ROLE_LEADER, consolepb.Role_ROLE_FOLLOWER, consolepb.Role_ROLE_NONVOTER:
		default:
			problems = append(problems, fmt.Sprintf("node %d is %s", mem.GetId(), roleName(mem.GetRole())))
		}
	}
	if len(problems) > 0 {
		return t.st.bad.Render("degraded: " + strings.Join(problems, ", "))
	}
	return t.st.ok.Render(fmt.Sprintf("healthy: %s, leader elected", plural(len(st.GetMembers()), "member")))
}
